"""Example Streamlit UI for rf-agent's blue/green deploys.

Fault injection: if the file FAULT next to this one says `exit-at-start`, the
process exits with status 1 as soon as this script runs. Streamlit runs the
script for each session (and for /_stcore/script-health-check when
server.scriptHealthCheckEnabled is on), not when the server starts; other
faults only concern the API and are ignored here.
"""

import math
import os
import sys
from pathlib import Path

APP_ROOT = Path(__file__).resolve().parent


def _read_text(name: str) -> str | None:
    try:
        return (APP_ROOT / name).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None


_fault = (_read_text("FAULT") or "").split()
if _fault[:1] == ["exit-at-start"]:
    print("ui: FAULT exit-at-start: exiting with status 1", file=sys.stderr, flush=True)
    # sys.exit() would only end this script run; Streamlit catches it.
    os._exit(1)

import streamlit as st  # noqa: E402

VERSION = _read_text("VERSION") or "unknown"
COLOR = os.environ.get("RF_COLOR") or "unknown"

st.set_page_config(page_title="rf-agent example", page_icon=":large_blue_circle:")
st.title("rf-agent example app")

left, right = st.columns(2)
left.metric("Version", VERSION)
right.metric("Color", COLOR)

st.subheader("A wave")
periods = st.slider("Periods", min_value=1, max_value=10, value=3)
amplitude = st.slider("Amplitude", min_value=0.5, max_value=5.0, value=1.0, step=0.5)
points = 200
xs = [i * periods * 2 * math.pi / points for i in range(points + 1)]
st.line_chart(
    {
        "sin": [amplitude * math.sin(x) for x in xs],
        "cos": [amplitude * math.cos(x) for x in xs],
    }
)
st.caption(f"{points + 1} points, computed in pure Python on the {COLOR} side.")
