#!/usr/bin/env python3
"""Prints the public API of genai-trace and genai-trace-runtime, one item per
block: its path, its declaration and the signatures of its methods and trait
impls, as rustdoc renders them. Diff two runs to check that a refactor left the
public API unchanged:

    cargo doc --no-deps --workspace --all-features
    scripts/public-api.py > /tmp/api-before.txt
    # ... change the code, build the docs again ...
    scripts/public-api.py | diff /tmp/api-before.txt -

Reads target/doc (or the folder given as the first argument).
"""

import html
import re
import sys
from pathlib import Path

CRATES = ["genai_trace", "genai_trace_runtime"]


def text(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", fragment)).strip()


def main() -> int:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else "target/doc")
    for crate in CRATES:
        index = root / crate / "all.html"
        if not index.exists():
            print(f"{index} is missing: run `cargo doc --no-deps --workspace --all-features` first", file=sys.stderr)
            return 1
        pages = sorted(set(re.findall(r'href="([^"]+\.html)"', index.read_text())))
        for page in pages:
            body = (root / crate / page).read_text()
            decls = [text(d) for d in re.findall(r'<pre class="rust item-decl">(.*?)</pre>', body, re.S)]
            members = sorted(text(h) for h in re.findall(r'<h4 class="code-header">(.*?)</h4>', body, re.S))
            print(f"== {crate}/{page}")
            for line in decls + members:
                print(f"   {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
