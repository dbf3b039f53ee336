/*
 * The lab's stand-in for KubeVirt's virt-launcher-monitor and virt-launcher: processes named and with arguments as
 * KubeVirt's (what Ferry's node scan reads), which hold the pod's mount namespace while its libvirt and QEMU run.
 * Installed as virt-launcher-monitor and virt-launcher (one program, two names) and run as
 * /usr/bin/virt-launcher-monitor ARGS (argv[0] set by the caller), it starts its virt-launcher as
 * /usr/bin/virt-launcher ARGS, as KubeVirt's monitor does, and ends it on SIGTERM; virt-launcher waits for SIGTERM.
 */
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t stop;
static void on_term(int sig) { (void)sig; stop = 1; }
static void on_child(int sig) { (void)sig; } /* wakes pause() when virt-launcher ends */

int main(int argc, char **argv) {
  (void)argc;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_term;
  sigaction(SIGTERM, &sa, 0);
  sigaction(SIGINT, &sa, 0);
  sa.sa_handler = on_child;
  sigaction(SIGCHLD, &sa, 0);
  const char *base = strrchr(argv[0], '/');
  base = base ? base + 1 : argv[0];
  if (strcmp(base, "virt-launcher-monitor") != 0) {
    while (!stop) pause();
    return 0;
  }
  pid_t child = fork();
  if (child == 0) {
    /* the same program under the name virt-launcher, beside this one */
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 32);
    if (n <= 0) _exit(127);
    self[n] = 0;
    char *slash = strrchr(self, '/');
    strcpy(slash ? slash + 1 : self, "virt-launcher");
    argv[0] = "/usr/bin/virt-launcher";
    execv(self, argv);
    _exit(127);
  }
  while (!stop && waitpid(child, 0, WNOHANG) == 0) pause();
  kill(child, SIGTERM);
  waitpid(child, 0, 0);
  return 0;
}
