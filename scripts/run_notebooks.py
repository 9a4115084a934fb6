#!/usr/bin/python3
"""Execute notebooks headless with the project's tslab kernel, cell by cell.

Writes the executed copy (<out>/<name>.ipynb) and an offline HTML export (<out>/<name>.html); the committed
notebooks are never modified. Stops at the first failing cell and reports its number, source and error text,
then exits 1. (tslab sends errors without a name or value, so the message is taken from the cell's outputs.)

Run through the CLI, which sets the scale and the kernel path:  npm run cli -- notebooks --scale tiny
Uses Debian's python3 with nbclient / nbconvert (scripts/setup.sh installs them).
"""
import argparse
import os
import sys
import time

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError


def error_text(cell):
    """The error messages a failed cell produced: error outputs and stderr streams."""
    parts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            parts.append(f"{out.get('ename', '')}: {out.get('evalue', '')}".strip(": "))
            parts.extend(out.get("traceback", []))
        elif out.get("output_type") == "stream" and out.get("name") == "stderr":
            parts.append(out.get("text", ""))
    return "\n".join(p for p in parts if p).strip() or "(the kernel reported an error without a message)"


def export_html(nb, path):
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_notebook_node(nb)
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        f.write(body)
    os.replace(path + ".tmp", path)


def run_one(path, out_dir, kernel, timeout, cwd):
    name = os.path.splitext(os.path.basename(path))[0]
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, kernel_name=kernel, timeout=timeout, allow_errors=False,
                            resources={"metadata": {"path": cwd}})
    code_cells = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    failure = None
    started = time.time()
    print(f"[notebook] {name}: {len(code_cells)} code cells, kernel {kernel}", flush=True)
    try:
        with client.setup_kernel():
            for n, i in enumerate(code_cells, 1):
                cell = nb.cells[i]
                t0 = time.time()
                try:
                    client.execute_cell(cell, i)
                except CellTimeoutError:
                    failure = (n, i, f"cell timed out after {timeout} s")
                except (CellExecutionError, DeadKernelError) as e:
                    failure = (n, i, error_text(cell) if isinstance(e, CellExecutionError) else f"kernel died: {e}")
                print(f"[notebook] {name}: cell {n}/{len(code_cells)} {'FAILED' if failure else 'ok'} "
                      f"({time.time() - t0:.1f} s)", flush=True)
                if failure:
                    break
    except Exception as e:  # kernel could not start, etc.
        failure = failure or (0, -1, f"{type(e).__name__}: {e}")

    os.makedirs(out_dir, exist_ok=True)
    out_nb = os.path.join(out_dir, name + ".ipynb")
    nbformat.write(nb, out_nb + ".tmp")
    os.replace(out_nb + ".tmp", out_nb)
    export_html(nb, os.path.join(out_dir, name + ".html"))

    if failure:
        n, i, text = failure
        src = nb.cells[i].source if i >= 0 else ""
        print(f"\n[notebook] {name} FAILED at code cell {n} (cell index {i}) after {time.time() - started:.1f} s",
              file=sys.stderr)
        if src:
            print("---- cell source ----\n" + src + "\n---- error ----", file=sys.stderr)
        print(text, file=sys.stderr)
        print(f"[notebook] executed copy with outputs so far: {out_nb}", file=sys.stderr)
        return False
    print(f"[notebook] {name}: ok in {time.time() - started:.1f} s -> {out_nb} (+ .html)", flush=True)
    return True


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("notebooks", nargs="+")
    ap.add_argument("--out", required=True, help="folder for executed copies and HTML")
    ap.add_argument("--kernel", default="inheritune-tslab")
    ap.add_argument("--timeout", type=int, default=3600, help="seconds per cell")
    ap.add_argument("--cwd", default=os.getcwd())
    args = ap.parse_args()
    failed = [nb for nb in args.notebooks if not run_one(nb, args.out, args.kernel, args.timeout, args.cwd)]
    if failed:
        print(f"[notebook] {len(failed)} of {len(args.notebooks)} notebook(s) failed: {', '.join(failed)}",
              file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
