"""PCA explorer: how much of the images a few principal components keep, and what is lost."""

import numpy as np
import streamlit as st

from mnist_core import data
from mnist_core.data import DISPLAY_NAMES
from ui import charts, datasets, fmt, services

SAMPLES = 8

st.title("PCA explorer")
st.markdown("PCA finds the directions in which the 784 pixels vary most. Keeping only the top few shrinks the "
            "network's input, at the price of detail. The notebook kept 154 components (95% of the variance) "
            "and noted that 5% is lost in the reconstruction: here is what that looks like.")

names = ["mnist"] + (["fashion_mnist"] if services.fashion_available() else [])
c1, c2 = st.columns([1, 3])
name = c1.selectbox("Dataset", names, format_func=DISPLAY_NAMES.get, key="pca_dataset")
k = c2.slider("Components kept", 1, 783, 154, key="pca_k")
with st.spinner("Fitting PCA..."):
    ds = datasets.load(name)
    if ds is None:
        st.stop()
    curve = data.cumulative_variance(ds)
    fitted = data.pca(ds, components=k)
st.markdown(f"**{k} components keep {curve[k - 1]:.1%} of the pixel variance**; {1 - curve[k - 1]:.1%} is lost. "
            f"Fitting this PCA on the 60,000 training images took **{fmt.secs(fitted.fit_seconds)}**"
            f"{' (measured when first fitted in this server; reused since)' if fitted.cached else ''}. "
            f"The first layer shrinks from 784 to {k} inputs.")
st.altair_chart(charts.variance_curve(curve, k).properties(height=220))

st.subheader(f"Test digits (top) rebuilt from {k} components (bottom)")
idx = np.arange(SAMPLES) * 97  # a fixed spread of test images
originals = ds.x_test[idx]
rebuilt = np.clip(fitted.pca.inverse_transform(fitted.x_test[idx]), 0, 1)
error = float(((rebuilt - originals) ** 2).mean())
to_img = lambda v: (v.reshape(28, 28) * 255).astype(np.uint8)  # noqa: E731
st.image([to_img(v) for v in originals], width=84)
st.image([to_img(v) for v in rebuilt], width=84)
st.caption(f"Mean squared pixel error of these reconstructions: {error:.4f} (pixels range 0 to 1).")
