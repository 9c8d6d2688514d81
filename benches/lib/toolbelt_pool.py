"""Python's requests-toolbelt thread pool on a list of URLs: the peer
tb-host ports, for benches/bench.sh.

    python toolbelt_pool.py URLS_FILE THREADS

Exits 1 if any request failed.
"""

import sys

from requests_toolbelt.threaded import pool


def main() -> int:
    path, threads = sys.argv[1], int(sys.argv[2])
    with open(path) as lines:
        urls = [line.strip() for line in lines if line.strip()]
    workers = pool.Pool.from_urls(urls, num_processes=threads)
    workers.join_all()
    responses = sum(1 for _ in workers.responses())
    failures = sum(1 for _ in workers.exceptions())
    print(f"{responses} responses, {failures} failures", file=sys.stderr)
    return 0 if failures == 0 and responses == len(urls) else 1


if __name__ == "__main__":
    sys.exit(main())
