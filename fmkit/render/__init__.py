"""The only code that draws: terminal heatmaps and tables (terminal.py), PNG figures (png.py and the
*_png.py modules), HTML pages (attention_html.py, bertviz.py), and notebook display (notebook.py)."""
