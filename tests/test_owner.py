"""Which process is training a run: asked, never signalled, and a recycled pid is not the trainer."""

import os
import subprocess
import sys

import pytest

from mnist_core import owner


def test_owner_alive_tells_a_recycled_pid_from_the_trainer(tmp_path):
    me = owner.owner_token()
    assert owner.owner_alive(me)
    # The same pid, but a process that started at another time: the trainer died and its pid was reused.
    assert not owner.owner_alive({**me, "start": str(int(me["start"]) + 1)})
    assert not owner.owner_alive({**me, "host": "another-machine"})
    dead = int(subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                              text=True).stdout)
    assert not owner.owner_alive({**me, "pid": dead})
    for bad in (None, {}, {**me, "pid": "12"}, {**me, "pid": 0}, {**me, "pid": -1}):
        assert not owner.owner_alive(bad)


def test_asking_whether_a_trainer_lives_does_not_signal_it():
    """owner_alive only asks the kernel (signal 0): a live trainer, here a child that any real signal
    would end, keeps running; pid 1, which always lives, counts as alive when its start time matches."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        token = {"pid": child.pid, "host": owner.socket.gethostname(), "start": owner._process_start(child.pid)}
        assert owner.owner_alive(token)
        with pytest.raises(subprocess.TimeoutExpired):
            child.wait(timeout=0.5)  # still running: it was not sent a hangup
    finally:
        child.kill()
        child.wait()
    init = {"pid": 1, "host": owner.socket.gethostname(), "start": owner._process_start(1)}
    assert owner.owner_alive(init)


def test_a_trainers_start_time_is_read_even_when_its_name_has_brackets_and_spaces():
    """/proc/<pid>/stat holds the process name in brackets, and a name may itself hold ') ': the start
    time is the 20th field after the last bracket."""
    child = subprocess.Popen([sys.executable, "-c", "open('/proc/self/comm', 'w').write('x) y z'); "
                              "import time; print(flush=True); time.sleep(30)"], stdout=subprocess.PIPE)
    try:
        child.stdout.readline()  # its name is set
        assert open(f"/proc/{child.pid}/comm").read().strip() == "x) y z"
        start = owner._process_start(child.pid)
        ticks = os.sysconf("SC_CLK_TCK")
        uptime = float(open("/proc/uptime").read().split()[0])
        assert start is not None and 0 <= uptime - int(start) / ticks < 30
    finally:
        child.kill()
        child.wait()
