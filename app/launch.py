"""``mnist-explorer``: serve the app, from a source checkout or from an installed package.

It is ``streamlit run main.py`` for the main.py beside this file. Streamlit reads the project's
settings from ``.streamlit/config.toml`` beside main.py (a script-level config, whatever folder you
start from), so the installed app keeps the same protections and server tuning as ``make app``.
Any arguments are passed on to ``streamlit run``::

    mnist-explorer                                    # http://localhost:8501
    mnist-explorer --server.port 8080 --server.address 0.0.0.0
"""

from __future__ import annotations

import sys
from pathlib import Path

MAIN = Path(__file__).resolve().with_name("main.py")

USAGE = """usage: mnist-explorer [STREAMLIT OPTIONS]

Serve the MNIST explorer (streamlit run on the packaged app). Options are Streamlit's own, e.g.
  --server.port 8080         listen on another port (default 8501)
  --server.address 0.0.0.0   accept other machines (default: all interfaces, as Streamlit does)
  --server.headless true     do not open a browser
Environment: MNIST_DATA, MNIST_RUNS_DIR, MNIST_REFERENCE_RUNS, MNIST_MAX_TRAININGS (see the README).
"""


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] in (["-h"], ["--help"]):
        print(USAGE, end="")
        return
    from streamlit.web import cli  # Streamlit's own command line, as the `streamlit` script runs it

    sys.argv = ["streamlit", "run", str(MAIN), *args]
    sys.exit(cli.main())


if __name__ == "__main__":
    main()
