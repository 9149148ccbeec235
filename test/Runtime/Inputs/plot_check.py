#!/usr/bin/env python3
"""plot_check.py - checks a --plot SVG against the run's --log CSV, as XML
(standard library only), and renders it when chromium is there.

    plot_check.py SVG CSV [--render PNG]

Prints, one fact a line, for FileCheck:
  xml: ok
  titles: loss, accuracy, learning rate
  legend: training validation training validation lr
  polyline NAME: N points, in the log's order   (one line per curve)
  render: ok (BYTES bytes) | render: skipped (no chromium)
and exits 1 at the first that does not hold. "In the log's order": the
points' x grow with the epochs, and each step up or down of the curve is
the log column's (y grows downwards).
"""
import csv
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

NS = "{http://www.w3.org/2000/svg}"
COLUMN = {"loss": ["loss", "val_loss"], "accuracy": ["accuracy", "val_accuracy"],
          "learning rate": ["lr"]}


def fail(what):
    sys.exit("plot_check: " + what)


def main():
    svg, log = sys.argv[1], sys.argv[2]
    root = ET.parse(svg).getroot()
    if root.tag != NS + "svg":
        fail("the root is %s" % root.tag)
    print("xml: ok")
    panels = root.findall(NS + "g[@class='panel']")
    titles = [p.find(NS + "text").text for p in panels]
    print("titles: " + ", ".join(titles))
    legend = [t.text for g in root.findall(NS + "g[@class='legend']")
              for t in g.findall(NS + "text")]
    print("legend: " + " ".join(legend))
    rows = list(csv.DictReader(open(log)))
    lines = root.findall(NS + "polyline")
    columns = [c for t in titles for c in COLUMN[t]]
    if not any(r["val_loss"] != "NA" for r in rows):
        columns = [c for c in columns if not c.startswith("val_")]
    if len(lines) != len(columns):
        fail("%d polylines for the columns %s" % (len(lines), columns))
    for line, column in zip(lines, columns):
        text = line.get("points").split()
        points = [tuple(map(float, p.split(","))) for p in text]
        values = [float(r[column]) for r in rows]
        if len(points) != len(values):
            fail("%s: %d points for %d epochs" % (column, len(points),
                                                   len(values)))
        for i in range(1, len(points)):
            dx = points[i][0] - points[i - 1][0]
            dy = points[i][1] - points[i - 1][1]
            dv = values[i] - values[i - 1]
            if dx <= 0 or (abs(dy) >= 0.2 and (dy > 0) != (dv < 0)):
                fail("%s: point %d %s after %s, but the log goes %s -> %s"
                     % (column, i, points[i], points[i - 1], values[i - 1],
                        values[i]))
        print("polyline %s: %d points, in the log's order"
              % (line.get("class"), len(points)))
    if len(sys.argv) > 4 and sys.argv[3] == "--render":
        render(svg, sys.argv[4])


def render(svg, png):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        print("render: skipped (no chromium)")
        return
    subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu",
                    "--screenshot=" + png, "--window-size=900,600",
                    "file://" + svg], stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, check=True)
    size = len(open(png, "rb").read())
    # a blank 900x600 page is under 3 KB; the curves, ticks and labels
    # make it ten times that
    if size < 15000:
        fail("the rendering %s holds %d bytes: blank?" % (png, size))
    print("render: ok")


main()
