"""What a sharing-policy decision costs next to what the node already does per report.

Prints operations per second (best of three runs of ``--seconds`` each) for the engine on the
demo reports under the reference policies (``policies/examples``): an outbound decision that
allows, one that holds and redacts (the AMBER+STRICT report naming a source), the inbound
decision, and, as the yardstick, the STIX validation every submission and every receipt already
runs. The ratio says how much a decision adds to a submission's CPU cost.

    python -m bench.policy_bench [--seconds 1.0]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from bench.crypto_bench import best_of
from policies import EXAMPLES_DIR, Origin, decide_inbound, decide_outbound, load_policy_dir
from service.reports.stix import validate_report

REPORTS = Path(__file__).resolve().parent.parent / "demo" / "reports"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="per run (best of three)")
    args = parser.parse_args(argv)
    iq = load_policy_dir(EXAMPLES_DIR / "IQ", node="IQ")["SY"]
    sy = load_policy_dir(EXAMPLES_DIR / "SY", node="SY")["IQ"]
    cell_bytes = (REPORTS / "iq-cell-wadi7.json").read_bytes()
    plot_bytes = (REPORTS / "iq-escape-plot-k4.json").read_bytes()
    cell, plot = validate_report(cell_bytes), validate_report(plot_bytes)
    local = Origin.local()

    def allow() -> object:
        return decide_outbound(iq, cell.bundle, report_tlp=cell.tlp, origin=local)

    def hold_redact() -> object:
        return decide_outbound(iq, plot.bundle, report_tlp=plot.tlp, origin=local)

    def inbound() -> object:
        return decide_inbound(sy, plot.bundle, size=len(plot_bytes), report_tlp=plot.tlp)

    def validate() -> object:
        return validate_report(plot_bytes)

    assert hold_redact().outcome == "hold"  # type: ignore[attr-defined]
    figures = [
        ("outbound decision, allow (5 objects)", best_of(allow, args.seconds)),
        ("outbound decision, hold + redact (9 objects)", best_of(hold_redact, args.seconds)),
        ("inbound decision (9 objects)", best_of(inbound, args.seconds)),
        ("STIX validation, for scale (9 objects)", best_of(validate, args.seconds)),
    ]
    print("Sharing-policy engine (reference policies, demo reports)")
    for name, rate in figures:
        print(f"  {name:<48} {rate:>10,.0f} /s  {1e6 / rate:>9,.1f} us")
    validation = figures[-1][1]
    redact = figures[1][1]
    print(f"  a hold + redact decision costs {validation / redact:.3f}x a STIX validation")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
