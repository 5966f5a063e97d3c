"""python -m bench: every benchmark, one after the other."""

import sys

from bench import app_speed, load, train_speed

for module in (train_speed, app_speed, load):
    print(f"\n## {module.__name__}\n", flush=True)
    sys.argv = [sys.argv[0]]
    module.main()
