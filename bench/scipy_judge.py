"""P3's baseline: scipy's Mann-Whitney U on the samples railyard-bench wrote.

Prints {"seconds": median time of `repeat` runs, "u", "p_value"} as JSON.
Usage: scipy_judge.py DATA.json [REPEAT]
"""

import json
import sys
import time

from scipy.stats import mannwhitneyu


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as handle:
        data = json.load(handle)
    repeat = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    canary, baseline = data["canary"], data["baseline"]
    times = []
    result = None
    for _ in range(max(repeat, 1)):
        started = time.perf_counter()
        result = mannwhitneyu(canary, baseline, alternative="two-sided")
        times.append(time.perf_counter() - started)
    times.sort()
    print(json.dumps({"seconds": times[len(times) // 2], "u": float(result.statistic), "p_value": float(result.pvalue)}))


if __name__ == "__main__":
    main()
