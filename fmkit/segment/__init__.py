"""`fmkit segment`: Segment Anything (SAM, MobileSAM, SAM 2) and FastSAM through Ultralytics'
models: an image encoded once, one mask per prompt (a point, a box, a detector's box), or
everything in the image when no prompt is given. Masks leave as COCO RLE.

    prompts.py     --point / --box parsed and checked; a detector's boxes as prompts
    model.py       checkpoints loaded weights-only, tensors checked (SAM family, FastSAM)
    segmenter.py   the run's model, loaded once, on the profile's device and input size
    predictor.py   SAM: embed once, decode every prompt in batches, everything mode
    fastsam.py     FastSAM: one pass, prompts pick among its masks
    masks.py       full-resolution masks a few at a time -> Mask records
    rle.py         COCO run-length encoding (pycocotools)
    results.py     Mask, SegmentResult (plain data, to_dict, notebook display)
    stream.py      sources -> results, decoding one image ahead
    folder.py      -o OUTDIR: annotated image, original, cut-out, COCO masks
    in_process.py  the executor a run plugs in
    run.py         SegmentRun: the shared image loop (fmkit/runs) with all of the above
"""
