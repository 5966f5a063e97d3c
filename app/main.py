"""MNIST explorer: watch a small neural network learn handwritten digits.

Run with ``streamlit run app/main.py``. Each page is a file in pages/; what they share is in ui/.
"""

import streamlit as st

st.set_page_config(page_title="MNIST explorer", page_icon=":material/draw:", layout="wide")

page = st.navigation([
    st.Page("pages/train.py", title="Train", icon=":material/model_training:", default=True),
    st.Page("pages/compare.py", title="Compare", icon=":material/stacked_line_chart:", url_path="compare"),
])
page.run()
