"""Try the model: draw a digit or upload a picture, see it the way MNIST was made, and ask a stored model."""

import numpy as np
import streamlit as st

from mnist_core import compare
from mnist_core.data import DataError
from mnist_core.preprocess import MAX_PIXELS, PictureError, read_picture, to_mnist
from ui import fmt, services, traced

st.title("Try a model")
st.markdown("Draw a digit, upload a picture of one or pick one of MNIST's test images. A drawing or picture is "
            "prepared the way MNIST digits were: grey, scaled to fit a 20x20 box and centred by its centre of "
            "mass in 28x28 pixels. Then any stored run that kept its model says what it sees, shows where it "
            "looked, how each layer responds, and how far the digit can move before it changes its mind.")

runs = [r for r in services.store().list() if r.model_path is not None and r.config.dataset == "mnist"]
if not runs:
    st.info("No stored run has a saved model yet: train one on the Train page (reference runs ship without "
            "weights).")
    st.stop()

run = st.selectbox("Model", runs, format_func=compare.run_label, key="try_run",
                   help="Runs that finished or were stopped keep their trained model.")

# Three ways to give it a digit; the one changed last is traced.
state = st.session_state
pictures: dict[str, np.ndarray] = {}  # source -> 784 floats, MNIST-style


def _chosen(source: str) -> None:
    state["try_source"] = source


draw, upload, test = st.tabs(["Draw", "Upload", "A test image"])
with draw:
    try:
        from streamlit_drawable_canvas import st_canvas

        result = st_canvas(stroke_width=22, stroke_color="#FFFFFF", background_color="#000000", height=280,
                           width=280, drawing_mode="freedraw", key="canvas", return_image_data=True)
        drawing = None if result is None or result.image_data is None else np.asarray(result.image_data)
        if drawing is not None and drawing[..., :3].max() > 0:
            pictures["draw"] = to_mnist(drawing)
            seen = hash(pictures["draw"].tobytes())
            if state.get("try_drawing_seen") != seen:  # a new stroke: the drawing is what to trace
                state["try_drawing_seen"] = seen
                _chosen("draw")
        st.caption("Draw with the mouse (or a finger) in white on black; use the canvas' bin icon to clear it.")
    except Exception as e:  # noqa: BLE001 - a broken component must not take the page down
        st.info(f"The drawing canvas is not available here ({type(e).__name__}); upload a picture instead.")
with upload:
    file = st.file_uploader("A picture of one digit (PNG or JPEG)", type=["png", "jpg", "jpeg"],
                            on_change=_chosen, args=("upload",))
    if file is not None:
        try:  # the picture's size is checked from its header before anything is decoded
            pictures["upload"] = to_mnist(read_picture(file.getvalue()))
        except PictureError as e:
            st.error(fmt.plain(e))
    st.caption(f"PNG or JPEG, up to {MAX_PIXELS / 1e6:.0f} megapixels.")
with test:
    ds = None  # MNIST itself, loaded here (not before the tabs): drawings and uploads do not wait for it
    if services.dataset_state("mnist")[0] == "ready":
        try:
            ds = services.dataset("mnist")
        except DataError:
            pass
    if ds is not None:
        index = st.number_input(f"Test image number (0 to {len(ds.y_test) - 1:,})", min_value=0,
                                max_value=len(ds.y_test) - 1, value=None, step=1, key="try_test_image",
                                on_change=_chosen, args=("test",), placeholder="e.g. 8")
        if index is not None:
            pictures["test"] = ds.x_test[int(index)]
            st.caption(f"MNIST's test image {int(index):,}: a {int(ds.y_test[int(index)])}, as the network's "
                       f"test set has it (already 28x28 and centred).")
    else:
        st.caption("MNIST's test images are not available on this server; draw or upload a digit instead.")

if not pictures:
    st.stop()
source = state.get("try_source")
source = source if source in pictures else next(s for s in ("upload", "draw", "test") if s in pictures)
if len(pictures) > 1:
    st.caption(f"Tracing the {dict(draw='drawing', upload='uploaded picture', test='test image')[source]}, "
               f"the one changed last.")
traced.show(run, pictures[source], ds or services.dataset_if_loaded("mnist"))
