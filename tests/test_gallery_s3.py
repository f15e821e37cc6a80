"""`fmkit gallery s3://bucket/results/` and `fmkit detect -o s3://... --gallery` against a real S3
server (SeaweedFS on 127.0.0.1, tests/seaweed.py): what is read (listing, result JSONs, PNG
heads; never the images), where the page goes (into the prefix with the right Content-Types, or
a local folder with presigned or public links), presigned links that really fetch the image,
the live writer's cheap add(), bad input; and, in Chromium with only 127.0.0.1 reachable, the
presigned page's images, its expiry line in Korean, and the page served by the bucket itself.
"""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from browser import BROWSER_MARKS, artifacts, browser, page, shot  # noqa: F401 (fixtures)
from test_gallery import app, det, jpeg, make_results, read_manifest  # noqa: F401 (app: fixture)
from test_gallery_browser import KOREAN_WORDS_JS, names, open_page

STREET = jpeg(color=(90, 140, 200))


def browser_test(fn):
    for mark in reversed(BROWSER_MARKS):
        fn = mark(fn)
    return fn




def upload_results(s3, bucket: str, local: Path, prefix: str = "results/") -> Path:
    """make_results' folder, put into the bucket as `fmkit detect -o s3://bucket/results/` lays it
    out: the same names, outputs as s3:// URIs."""
    make_results(local)
    for path in sorted(p for p in local.rglob("*") if p.is_file()):
        rel = path.relative_to(local).as_posix()
        data = path.read_bytes()
        if rel.endswith(".jpg.json"):
            try:
                obj = json.loads(data)
            except ValueError:
                obj = None
            if isinstance(obj, dict):
                obj["outputs"] = {"image": f"s3://{bucket}/{prefix}{rel[:-5]}", "json": f"s3://{bucket}/{prefix}{rel}"}
                data = json.dumps(obj, ensure_ascii=False).encode()
        s3.put_object(Bucket=bucket, Key=prefix + rel, Body=data)
    return local


def bucket_manifest(s3, bucket: str, key: str) -> dict:
    text = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()
    return json.loads(text.split("window.FMKIT_GALLERY = ", 1)[1].rstrip().rstrip(";"))


def keys(s3, bucket: str, prefix: str = "") -> list[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return sorted(o["Key"] for page in pages for o in page.get("Contents", []))


class Requests:
    """Every HTTP request the store's client really sends (not presigning, which sends nothing):
    (method, key, Range header)."""

    def __init__(self, store, bucket: str):
        self.seen: list[tuple[str, str, str | None]] = []
        self.bucket = bucket
        store.client.meta.events.register("before-send.s3", self._record)

    def _record(self, request, **_):
        path = urllib.parse.unquote(urllib.parse.urlsplit(request.url).path)
        key = path.split(f"/{self.bucket}", 1)[1].lstrip("/") if f"/{self.bucket}" in path else path
        query = urllib.parse.urlsplit(request.url).query
        rng = request.headers.get("Range")
        rng = rng.decode() if isinstance(rng, bytes) else rng
        self.seen.append((request.method + ("?list" if "list-type" in query else ""), key, rng))


def unsigned_get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


# --- reading a bucket, writing the page into it -----------------------------------------------


def test_page_into_the_prefix_reads_jsons_and_png_heads_only(app, s3_env, s3, bucket, tmp_path):
    from fmkit import io

    upload_results(s3, bucket, tmp_path / "local")
    requests = Requests(io.store_for(f"s3://{bucket}/results/"), bucket)
    r = app("gallery", f"s3://{bucket}/results/")
    assert r.exit_code == 0, r.output
    assert r.stdout.strip() == f"s3://{bucket}/results/index.html: 8 results, 7 boxes, 3 labels, 3 with problems"

    # Read: one listing, every result JSON whole, the diffuse PNG's head (a ranged GET); no image.
    gets = {(k, rng) for m, k, rng in requests.seen if m == "GET"}
    jsons = {k for k in keys(s3, bucket, "results/") if k.endswith(".json") and k != "results/coco.json"}
    assert {k for k, rng in gets if rng is None} == jsons
    assert {(k, rng) for k, rng in gets if rng is not None} == {("results/a-red-fox-7.png", "bytes=0-65535")}
    assert not [k for k, _ in gets if k.endswith((".jpg", "plain.png"))]  # plain.png is empty: not even asked
    assert [m for m, *_ in requests.seen].count("GET?list") == 2  # the access check (1 key) + one page
    assert [k for m, k, _ in requests.seen if m == "PUT"] == [f"results/{n}" for n in ("manifest.js", "stamp.js", "index.html")]

    # Written: the three files as objects a bucket serves as a web page, relative image links.
    for name, kind in (("index.html", "text/html; charset=utf-8"), ("manifest.js", "text/javascript; charset=utf-8"),
                       ("stamp.js", "text/javascript; charset=utf-8")):
        assert s3.head_object(Bucket=bucket, Key=f"results/{name}")["ContentType"] == kind
    m = bucket_manifest(s3, bucket, "results/manifest.js")
    local = read_manifest(_local_build(tmp_path))
    strip = lambda items: sorted((i["n"], i.get("u"), i.get("e"), i.get("d"), i.get("w")) for i in items)  # noqa: E731
    assert strip(m["items"]) == strip(local["items"])  # the same cards as the same folder on disk
    items = {i["n"]: i for i in m["items"]}
    assert items["street.jpg"]["u"] == "street.jpg" and items["sub/garage.jpg"]["u"] == "sub/garage.jpg"
    assert items["a-red-fox-7.png"]["p"]["prompt"] == "a red fox in the snow" and items["a-red-fox-7.png"]["w"] == 96
    assert m["results"] == f"s3://{bucket}/results/" and m["presign"] is None
    page = s3.get_object(Bucket=bucket, Key="results/index.html")["Body"].read().decode()
    assert "img-src 'self' data:;" in page.replace("&#x27;", "'")  # relative links: nothing else allowed
    assert app("gallery", f"s3://{bucket}/results").exit_code == 0  # our own page is replaced without --force


def _local_build(tmp_path: Path) -> Path:
    from fmkit.gallery import build_gallery

    build_gallery(tmp_path / "local")  # into the folder itself: relative links, as in the bucket
    return tmp_path / "local"


def test_png_text_past_the_head_is_read_whole(s3_env, s3, bucket):
    """A diffuse PNG whose text chunks run past the ranged read is fetched whole, not misread."""
    import io as stdio

    from PIL import Image
    from PIL.PngImagePlugin import PngInfo

    from fmkit.gallery import build_gallery

    info = PngInfo()
    info.add_itxt("comment", "x" * 70_000)  # pushes the prompt past the first 64 KiB
    info.add_itxt("prompt", "a long story")
    info.add_itxt("seed", "3")
    buf = stdio.BytesIO()
    Image.new("RGB", (40, 30), (1, 2, 3)).save(buf, format="PNG", pnginfo=info)
    s3.put_object(Bucket=bucket, Key="results/long.png", Body=buf.getvalue())
    build_gallery(f"s3://{bucket}/results")
    [item] = bucket_manifest(s3, bucket, "results/manifest.js")["items"]
    assert item["k"] == "diffuse" and item["p"]["prompt"] == "a long story" and (item["w"], item["h"]) == (40, 30)


# --- a page elsewhere: presigned or public links ---------------------------------------------


def test_presigned_page_in_a_local_folder_fetches_the_real_image(app, s3_env, s3, bucket, tmp_path):
    upload_results(s3, bucket, tmp_path / "local")
    site = tmp_path / "site"
    before = time.time()
    r = app("gallery", f"s3://{bucket}/results/", "-o", site, "--presign", "600", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["index"] == str(site / "index.html")
    assert sorted(p.name for p in site.iterdir()) == ["index.html", "manifest.js", "stamp.js"]
    assert not [k for k in keys(s3, bucket, "results/") if k.endswith((".html", ".js"))]  # nothing into the bucket
    m = read_manifest(site)
    assert before + 600 - 1 <= m["presign"]["expires"] <= time.time() + 600 and m["presign"]["seconds"] == 600
    items = {i["n"]: i for i in m["items"]}
    url = items["street.jpg"]["u"]
    assert url.startswith(f"{s3_env.endpoint}/{bucket}/results/street.jpg?") and "X-Amz-Signature=" in url
    assert "X-Amz-Expires=600" in url and s3_env.admin_secret not in url
    with urllib.request.urlopen(url, timeout=5) as resp:  # the presigned link itself, as a browser would
        assert resp.read() == (tmp_path / "local" / "street.jpg").read_bytes()
    with urllib.request.urlopen(items["sub/garage.jpg"]["u"], timeout=5) as resp:
        assert resp.read() == (tmp_path / "local" / "sub" / "garage.jpg").read_bytes()
    assert unsigned_get(f"{s3_env.endpoint}/{bucket}/results/street.jpg") == 403  # private: the signature matters
    tampered = url.replace("results/street.jpg", "results/park.jpg")
    assert unsigned_get(tampered) == 403  # a signature is for its one key
    page = (site / "index.html").read_text(encoding="utf-8").replace("&#x27;", "'")
    assert f"img-src 'self' data: {s3_env.endpoint};" in page  # the CSP lets exactly the endpoint's images in


def test_public_url_base_links_under_it(app, s3_env, s3, bucket, tmp_path):
    upload_results(s3, bucket, tmp_path / "local")
    base = f"{s3_env.endpoint}/{bucket}/results/"
    r = app("gallery", f"s3://{bucket}/results", "-o", tmp_path / "site", "--public-url-base", base)
    assert r.exit_code == 0, r.output
    items = {i["n"]: i for i in read_manifest(tmp_path / "site")["items"]}
    assert items["sub/garage.jpg"]["u"] == base + "sub/garage.jpg"
    assert read_manifest(tmp_path / "site")["presign"] is None


def test_page_in_another_prefix_of_the_same_bucket_links_relatively(s3_env, s3, bucket, tmp_path):
    from fmkit.gallery import build_gallery

    upload_results(s3, bucket, tmp_path / "local")
    s = build_gallery(f"s3://{bucket}/results/", f"s3://{bucket}/site/gallery/")
    assert s.index == f"s3://{bucket}/site/gallery/index.html"
    items = {i["n"]: i for i in bucket_manifest(s3, bucket, "site/gallery/manifest.js")["items"]}
    assert items["sub/garage.jpg"]["u"] == "../../results/sub/garage.jpg"


# --- detect --gallery into a bucket, and the live writer's add() ------------------------------


def test_writer_add_rewrites_only_the_data_and_reads_nothing(s3_env, s3, bucket):
    from fmkit import io
    from fmkit.gallery import GalleryWriter

    root = f"s3://{bucket}/results/"
    writer = GalleryWriter(root, lang="ko")
    assert writer.refresh().results == 0  # detect --gallery starts on an empty prefix
    page = s3.get_object(Bucket=bucket, Key="results/index.html")["Body"].read()
    requests = Requests(io.store_for(root), bucket)
    for i in range(3):
        name = f"results/img{i}.jpg"
        s3.put_object(Bucket=bucket, Key=name, Body=STREET)  # what detect writes before add() is called
        obj = {"schema": 1, "width": 160, "height": 120, "detections": [det("cat", 0.5 + i / 10, 1, 1, 9, 9)],
               "model": "yolo11n.pt", "outputs": {"image": f"s3://{bucket}/{name}", "json": f"s3://{bucket}/{name}.json"}}
        s3.put_object(Bucket=bucket, Key=f"{name}.json", Body=json.dumps(obj).encode())
        writer.add(obj)
    assert requests.seen == [("PUT", f"results/{n}", None) for _ in range(3) for n in ("manifest.js", "stamp.js")]
    m = bucket_manifest(s3, bucket, "results/manifest.js")
    assert [i["n"] for i in m["items"]] == ["img0.jpg", "img1.jpg", "img2.jpg"] and m["lang"] == "ko"
    assert all(i["u"] == i["n"] and "e" not in i for i in m["items"])
    assert m["stamp"] in s3.get_object(Bucket=bucket, Key="results/stamp.js")["Body"].read().decode()
    assert s3.get_object(Bucket=bucket, Key="results/index.html")["Body"].read() == page  # written once
    assert writer.refresh().results == 3  # re-reading the prefix finds the same


def test_detect_into_a_bucket_with_gallery(cli, tiny_yolo, s3_env, s3, bucket):
    from test_detect import BUS, ZIDANE

    s3.put_object(Bucket=bucket, Key="uploads/bus.jpg", Body=BUS.read_bytes())
    s3.put_object(Bucket=bucket, Key="uploads/고양이 사진.jpg", Body=ZIDANE.read_bytes())
    r = cli(["detect", f"s3://{bucket}/uploads/", "-o", f"s3://{bucket}/results/", "--gallery", "--lang", "ko",
             "--model", tiny_yolo, "--imgsz", "160", "--conf", "0.01", "--json"])
    assert r.exit_code == 0, r.stderr
    lines = [json.loads(line) for line in r.stdout.splitlines()]
    m = bucket_manifest(s3, bucket, "results/manifest.js")
    items = {i["n"]: i for i in m["items"]}
    assert sorted(items) == ["bus.jpg", "고양이 사진.jpg"] and m["lang"] == "ko"
    assert items["고양이 사진.jpg"]["u"] == "%EA%B3%A0%EC%96%91%EC%9D%B4%20%EC%82%AC%EC%A7%84.jpg"
    by = {o["source"].rsplit("/", 1)[1]: o for o in lines}
    assert len(items["bus.jpg"].get("d", [])) == len(by["bus.jpg"]["detections"])
    assert (items["bus.jpg"]["w"], items["bus.jpg"]["h"]) == (by["bus.jpg"]["width"], by["bus.jpg"]["height"])
    assert s3.head_object(Bucket=bucket, Key="results/index.html")["ContentType"] == "text/html; charset=utf-8"
    assert '<html lang="ko">' in s3.get_object(Bucket=bucket, Key="results/index.html")["Body"].read().decode()


# --- bad input --------------------------------------------------------------------------------


def one_line(r, code: int, words: str) -> None:
    assert r.exit_code == code, (r.stdout, r.stderr)
    assert words in r.stderr and len(r.stderr.strip().splitlines()) == 1 and r.stdout == "", r.stderr


@pytest.mark.parametrize("case", ["wrong-secret", "missing-bucket", "empty-prefix", "no-links", "presign-in-bucket",
                                  "page-in-bucket-for-local", "foreign-index", "bad-base"])
def test_bad_input_is_one_line_and_writes_nothing(app, s3_env, s3, bucket, tmp_path, monkeypatch, case):
    root = f"s3://{bucket}/results/"
    s3.put_object(Bucket=bucket, Key="results/a.jpg", Body=STREET)
    s3.put_object(Bucket=bucket, Key="results/a.jpg.json", Body=b'{"schema": 1, "detections": []}')
    args: list = [root]
    if case == "wrong-secret":
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wrong-SECRET-never-shown-456")
        code, words = 1, "secret key was rejected"
    elif case == "missing-bucket":
        args, code, words = ["s3://no-such-bucket-fmkit/results/"], 1, "bucket 'no-such-bucket-fmkit' does not exist"
    elif case == "empty-prefix":
        args, code, words = [f"s3://{bucket}/nothing-here/"], 2, "holds no results"
    elif case == "no-links":
        args, code, words = [root, "-o", tmp_path / "site"], 2, "needs absolute image links"
    elif case == "presign-in-bucket":
        args, code, words = [root, "--presign", "60"], 2, "--presign is for a page outside the bucket"
    elif case == "page-in-bucket-for-local":
        make_results(tmp_path / "local")
        args, code, words = [tmp_path / "local", "-o", root], 2, "cannot show images from this machine's disk"
    elif case == "foreign-index":
        s3.put_object(Bucket=bucket, Key="results/index.html", Body=b"<h1>the course's own page</h1>")
        code, words = 2, "was not written by fmkit gallery"
    elif case == "bad-base":
        args, code, words = [root, "-o", tmp_path / "site", "--public-url-base", "ftp://x/"], 2, "not an http(s) URL"
    before = keys(s3, bucket)
    r = app("gallery", *args)
    one_line(r, code, words)
    assert s3_env.admin_secret not in r.stderr and "wrong-SECRET-never-shown-456" not in r.stderr
    assert keys(s3, bucket) == before and not (tmp_path / "site").exists()
    if case == "foreign-index":
        assert app("gallery", root, "--force").exit_code == 0
        assert b"fmkit gallery" in s3.get_object(Bucket=bucket, Key="results/index.html")["Body"].read()


def test_read_only_identity_reads_but_cannot_write_the_page_there(app, s3_env, s3, bucket, tmp_path, monkeypatch):
    upload_results(s3, bucket, tmp_path / "local")
    for var, value in s3_env.env(reader=True).items():
        monkeypatch.setenv(var, value)
    before = keys(s3, bucket)
    r = app("gallery", f"s3://{bucket}/results/")
    one_line(r, 1, f"access denied: PutObject on s3://{bucket}/results/manifest.js")
    assert keys(s3, bucket) == before and s3_env.reader_secret not in r.stderr
    r = app("gallery", f"s3://{bucket}/results/", "-o", tmp_path / "site", "--presign", "120")  # a local page: fine
    assert r.exit_code == 0, r.stderr
    url = {i["n"]: i for i in read_manifest(tmp_path / "site")["items"]}["park.jpg"]["u"]
    with urllib.request.urlopen(url, timeout=5) as resp:  # signed by the reader: it may read
        assert resp.read() == (tmp_path / "local" / "park.jpg").read_bytes()


# --- in Chromium: only 127.0.0.1 (the SeaweedFS endpoint) reachable ----------------------------


def loaded_images(page) -> dict[str, int]:
    page.wait_for_function("() => [...document.querySelectorAll('#grid img')].every(i => i.complete)", timeout=15000)
    return dict(page.eval_on_selector_all(
        "figure.card", "cs => cs.filter(c => c.querySelector('img')).map(c => [c.dataset.name, c.querySelector('img').naturalWidth])"))


@browser_test
def test_presigned_page_loads_its_images_from_the_bucket(page, app, s3_env, s3, bucket, tmp_path, artifacts):
    upload_results(s3, bucket, tmp_path / "local")
    site = tmp_path / "site"
    assert app("gallery", f"s3://{bucket}/results/", "-o", site, "--presign", "900").exit_code == 0
    open_page(page, (site / "index.html").as_uri())
    widths = loaded_images(page)
    # Every card with an image shows it (problem cards too: broken.jpg, future.jpg; lost.jpg has none).
    assert widths == {"street.jpg": 160, "park.jpg": 160, "sub/garage.jpg": 160, "empty.jpg": 160,
                      "a-red-fox-7.png": 96, "broken.jpg": 160, "future.jpg": 160}
    assert page.locator(".frame.broken").count() == 0
    expiry = page.inner_text("#expiry")
    assert expiry.startswith("Image links expire ") and page.get_attribute("#expiry", "class") == "muted"
    requested = [u for u in page.evaluate("performance.getEntriesByType('resource').map(e => e.name)") if u.startswith("http")]
    assert requested and all(u.startswith(f"{s3_env.endpoint}/{bucket}/results/") and "X-Amz-Signature=" in u
                             for u in requested)
    shot(page, artifacts, "gallery-s3-presigned", full_page=True)
    assert page.blocked == [] and page.errors == []


@browser_test
def test_korean_presigned_page_says_when_links_expire_and_no_english(page, app, s3_env, s3, bucket, tmp_path, artifacts):
    upload_results(s3, bucket, tmp_path / "local")
    site = tmp_path / "site"
    assert app("gallery", f"s3://{bucket}/results/", "-o", site, "--presign", "3600", "--lang", "ko").exit_code == 0
    open_page(page, (site / "index.html").as_uri())
    loaded_images(page)
    expiry = page.inner_text("#expiry")
    assert expiry.startswith("이미지 링크는 ") and expiry.endswith("에 만료됩니다.") and page.is_visible("#expiry")
    page.click("details#run summary")
    text = page.evaluate(KOREAN_WORDS_JS)
    english = sorted(set(re.findall(r"[A-Za-z]{2,}", text)) - {"fmkit"})
    assert english == [], english
    shot(page, artifacts, "gallery-s3-presigned-ko")
    assert page.errors == []


@browser_test
def test_expired_links_say_so_and_really_fail(page, app, s3_env, s3, bucket, tmp_path, artifacts):
    upload_results(s3, bucket, tmp_path / "local")
    site = tmp_path / "site"
    assert app("gallery", f"s3://{bucket}/results/", "-o", site, "--presign", "1").exit_code == 0
    time.sleep(2.5)
    open_page(page, (site / "index.html").as_uri())
    page.wait_for_function("() => [...document.querySelectorAll('#grid img')].every(i => i.complete)", timeout=15000)
    assert page.inner_text("#expiry") == "Image links have expired: build the gallery again."
    assert page.get_attribute("#expiry", "class") == "warn"
    assert page.locator(".frame.broken").count() == 7  # the server refuses every expired link
    shot(page, artifacts, "gallery-s3-expired")


@browser_test
def test_the_bucket_serves_the_page_itself(page, app, s3_env, s3, bucket, tmp_path, artifacts):
    """The page written into the prefix, opened from the S3 endpoint over http (results/ made
    public-read by a bucket policy, as an S3 static site would be): the browser renders it
    (text/html), runs manifest.js (text/javascript) and loads the images by relative links."""
    upload_results(s3, bucket, tmp_path / "local")
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/results/*"}]}))
    assert app("gallery", f"s3://{bucket}/results/").exit_code == 0
    url = f"{s3_env.endpoint}/{bucket}/results/index.html"
    assert unsigned_get(url) == 200
    open_page(page, url)
    assert len(names(page)) == 8
    assert loaded_images(page)["sub/garage.jpg"] == 160 and page.locator(".frame.broken").count() == 0
    assert page.inner_text("#expiry") == ""
    shot(page, artifacts, "gallery-s3-served-by-bucket", full_page=True)
    assert page.blocked == [] and page.errors == []
