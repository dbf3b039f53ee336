"""A lab host as the lab's tools see it: its namespaces, and processes started in them that join its cgroups (so
`lab.sh down` ends any a tool leaves behind). Read from lab.json."""
import json
import os
import subprocess

CGROUP_CTRLS = "cpu cpuacct cpuset memory devices freezer blkio pids systemd unified".split()


class Host:
    def __init__(self, lab, letter):
        self.lab, desc = lab, json.load(open(f"{lab}/lab.json"))
        self.name = f"host{letter}"
        self.netns = desc["clientNetns"].replace("client", self.name)
        self.client_netns = desc["clientNetns"]
        self.prefix = self.netns[: -len(self.name) - 1]
        self.guest_net = desc["guestNet"]

    def join_cgroups(self):
        for c in CGROUP_CTRLS:
            with open(f"/sys/fs/cgroup/{c}/lab-{self.prefix}-{self.name}/cgroup.procs", "w") as f:
                f.write(str(os.getpid()))

    def popen(self, argv, **kw):
        ns = f"{self.lab}/ns/{self.name}"
        enter = ["nsenter", f"--net=/run/netns/{self.netns}", f"--mount={ns}.mnt", f"--uts={ns}.uts",
                 f"--cgroup={ns}.cgroup", "--"]
        return subprocess.Popen(enter + argv, preexec_fn=self.join_cgroups, **kw)

    def ip(self, *args):
        subprocess.run(["ip", "-n", self.netns, *args], check=True)


def hosts_of(lab):
    return [h["letter"] for h in json.load(open(f"{lab}/lab.json"))["hosts"]]
