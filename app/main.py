"""MNIST explorer: watch a small neural network learn handwritten digits.

Run with ``streamlit run app/main.py``. Each page is a file in views/ (not pages/, which
Streamlit would also list on its own); what they share is in ui/.
"""

import streamlit as st

from mnist_core import logs
from ui import identity, present, services

logs.setup()  # the core's info and warnings in the server's log, once each (a no-op after the first run)
presenting = present.presenting()
st.set_page_config(page_title="MNIST explorer", page_icon=":material/draw:", layout="wide",
                   initial_sidebar_state="collapsed" if presenting else "auto")

page = st.navigation([
    st.Page("views/train.py", title="Train", icon=":material/model_training:", default=True),
    st.Page("views/compare.py", title="Compare", icon=":material/stacked_line_chart:", url_path="compare"),
    st.Page("views/details.py", title="Run details", icon=":material/troubleshoot:", url_path="details"),
    st.Page("views/try.py", title="Try a model", icon=":material/draw:", url_path="try"),
    st.Page("views/pca.py", title="PCA explorer", icon=":material/compress:", url_path="pca"),
    st.Page("views/study.py", title="Study", icon=":material/school:", url_path="study"),
    st.Page("views/lessons.py", title="Lessons", icon=":material/cast_for_education:", url_path="lessons"),
    st.Page("views/class.py", title="Class", icon=":material/groups:", url_path="class"),
])
if presenting:
    present.apply()
identity.sidebar()  # this browser's identity (a cookie) and, on a class's server, the teacher's log-in
page.run()
services.warm_up_soon()  # the training workers, if this page did not start them (see services)
