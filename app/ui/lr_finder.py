"""The learning-rate finder panel: run the range test for the current settings, apply its suggestion."""

from __future__ import annotations

import streamlit as st

from mnist_core.config import RunConfig

from . import controls, fmt, services


def _apply(rate: float) -> None:
    st.session_state[controls.K + "learning_rate"] = rate


def panel(config: RunConfig) -> None:
    with st.expander("Learning-rate finder: which rate suits these settings?"):
        st.markdown("Takes 300 steps from fresh weights while the learning rate grows from 0.00001 to 10, "
                    "recording the loss. Where the loss falls fastest is a good rate; where it explodes is "
                    "too much. (Leslie Smith's range test.)")
        key = f"lr_find_{config.settings_hash()}"
        if st.button("Run the range test", key="lr_find_go"):
            with st.spinner("Running the range test..."):
                st.session_state[key] = services.tool({"cmd": "lr_find", "config": config.to_dict()})
        result = st.session_state.get(key)
        if not result:
            return
        if "error" in result:
            st.error(fmt.plain(result["error"]))
            return
        import altair as alt  # loaded on first use: the Train page's first paint does not wait for it
        import pandas as pd

        df = pd.DataFrame({"rate": result["rates"], "loss": result["losses"], "smoothed": result["smoothed"]})
        base = alt.Chart(df).encode(x=alt.X("rate:Q", title="Learning rate (log)", scale=alt.Scale(type="log")))
        chart = base.mark_line(opacity=0.3).encode(y=alt.Y("loss:Q", title="Training loss")) + \
            base.mark_line().encode(y="smoothed:Q", tooltip=[alt.Tooltip("rate:Q", format=".2g"),
                                                             alt.Tooltip("smoothed:Q", format=".3f")])
        best = result["suggestion"]
        if best:
            chart += alt.Chart(pd.DataFrame({"rate": [best]})).mark_rule(color="#d62728").encode(x="rate:Q")
        st.altair_chart(chart.properties(height=240))
        if best:
            rate = float(f"{best:.2g}")
            st.button(f"Use learning rate {rate:g}", on_click=_apply, args=(rate,), key="lr_find_apply",
                      help="Sets the learning-rate control; press Train to use it.")
