"""The Pareto front of (cost, metric) points: lower cost and higher metric are better."""

from __future__ import annotations

from typing import Sequence


def pareto_front(costs: Sequence[float], metrics: Sequence[float]) -> list[int]:
    """Indices of the points no other point dominates (another point dominates one when
    its cost is no higher and its metric no lower, and it is better in one of the two),
    sorted by cost. Equal points are all kept."""
    if len(costs) != len(metrics):
        raise ValueError("costs and metrics differ in length")
    front = []
    for i, (c, m) in enumerate(zip(costs, metrics)):
        dominated = any((c2 <= c and m2 >= m) and (c2 < c or m2 > m)
                        for j, (c2, m2) in enumerate(zip(costs, metrics)) if j != i)
        if not dominated:
            front.append(i)
    return sorted(front, key=lambda i: (costs[i], -metrics[i]))
