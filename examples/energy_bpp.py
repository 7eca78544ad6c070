"""Run a BPP node with the demo's energy-offer handlers: ``python examples/energy_bpp.py FILE``.

This is how a P2P trading platform embeds iesnode: build the handlers in Python,
take everything else (keys, network, Redis) from the TOML file.
"""

from __future__ import annotations

import sys
from pathlib import Path

from iesnode.demo import energy_provider
from iesnode.serve import serve

if __name__ == "__main__":
    config = Path(sys.argv[1])
    raise SystemExit(serve(config, energy_provider("solar.example", 4.5, 10.0)))
