"""Try the model: draw a digit or upload a picture, see it the way MNIST was made, and ask a stored model."""

import numpy as np
import pandas as pd
import streamlit as st

from mnist_core import compare
from mnist_core.preprocess import MAX_PIXELS, PictureError, read_picture, to_mnist
from ui import fmt, services

st.title("Try a model")
st.markdown("Draw a digit or upload a picture of one. It is prepared the way MNIST digits were: grey, "
            "scaled to fit a 20x20 box and centred by its centre of mass in 28x28 pixels. Then any stored run "
            "that kept its model says what it sees.")

runs = [r for r in services.store().list() if r.model_path is not None and r.config.dataset == "mnist"]
if not runs:
    st.info("No stored run has a saved model yet: train one on the Train page (reference runs ship without "
            "weights).")
    st.stop()

run = st.selectbox("Model", runs, format_func=compare.run_label, key="try_run",
                   help="Runs that finished or were stopped keep their trained model.")

draw, upload = st.tabs(["Draw", "Upload"])
with draw:
    picture = None
    try:
        from streamlit_drawable_canvas import st_canvas

        result = st_canvas(stroke_width=22, stroke_color="#FFFFFF", background_color="#000000", height=280,
                           width=280, drawing_mode="freedraw", key="canvas", return_image_data=True)
        if result is not None and result.image_data is not None and np.asarray(result.image_data)[..., :3].max() > 0:
            picture = np.asarray(result.image_data)
        st.caption("Draw with the mouse (or a finger) in white on black; use the canvas' bin icon to clear it.")
    except Exception as e:  # noqa: BLE001 - a broken component must not take the page down
        st.info(f"The drawing canvas is not available here ({type(e).__name__}); upload a picture instead.")
with upload:
    file = st.file_uploader("A picture of one digit (PNG or JPEG)", type=["png", "jpg", "jpeg"])
    if file is not None:
        try:  # the picture's size is checked from its header before anything is decoded
            picture = read_picture(file.getvalue())
        except PictureError as e:
            st.error(fmt.plain(e))
    st.caption(f"PNG or JPEG, up to {MAX_PIXELS / 1e6:.0f} megapixels.")

if picture is None:
    st.stop()

pixels = to_mnist(picture)
left, right = st.columns([1, 2])
left.image((pixels.reshape(28, 28) * 255).astype(np.uint8), caption="What the network sees (28x28)", width=196)
with right:
    with st.spinner("Asking the model (the first question starts a model process)..."):
        reply = services.tool({"cmd": "predict", "run_id": run.run_id, "pixels": pixels.round(4).tolist()})
    if "error" in reply:
        st.error(fmt.plain(reply["error"]))
        st.stop()
    proba = np.asarray(reply["probabilities"])
    top = np.argsort(-proba)[:3]
    st.markdown(f"### It's a **{top[0]}** ({proba[top[0]]:.1%} sure)")
    st.table(pd.DataFrame({"digit": top, "probability": [f"{proba[i]:.1%}" for i in top]}).set_index("digit"))
    st.caption(f"Model: {fmt.plain(run.display_name)}, test accuracy {fmt.pct(run.data.get('final_test_accuracy'))}.")
