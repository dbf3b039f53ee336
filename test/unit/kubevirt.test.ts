import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  formatCaps,
  isPodUri,
  kubevirtDomainName,
  kubevirtOwnsMessage,
  parseScanBlock,
  parsePodLine,
  podUri,
  restrictedPodsMessage,
} from '../../src/core/kubevirt';
import { virsh } from '../../src/core/virsh';
import { domainFromPodStatus } from '../../src/core/domain';
import { capabilityFindings, kubevirtCapFindings } from '../../src/core/kubevirtDiagnosis';

// two lab nodes' scans (lab/kubevirt.sh): hostB a non-root launcher (QEMU uid 107, CapEff 0x400) and one given
// CAP_IPC_LOCK; hostC a DVP launcher whose libvirt takes only the launcher's PID
const SCAN = readFileSync(join(__dirname, '..', 'fixtures', 'kubevirt-scan.txt'), 'utf8');
const UID = 'b36ec78c-6f6a-443d-98de-bc0123456789';
const line = (namespace: string, argv0 = '/usr/bin/virt-launcher', rest = 'run 20 107 0 30 107 0000000000000400 0') =>
  `pod 10 ${rest} ${argv0} ${namespace} web1 ${UID}`;

/** the scan's last complete block, as Ferry reads it (undefined before the first "@scan") */
const lastBlock = (text: string) => {
  const blocks = text.split('@scan\n');
  return blocks.length < 2 ? undefined : parseScanBlock(blocks[blocks.length - 2].split('\n'));
};

describe('a KubeVirt node as its scan shows it', () => {
  const pods = lastBlock(SCAN)!;

  it('reads each pod: namespace, VM, socket under the launcher root, daemon, QEMU uid and capabilities', () => {
    expect(pods).toHaveLength(3);
    const [rootless, ipcLock, dvp] = pods;
    expect(rootless.launcherPid).toBeGreaterThan(1);
    expect(rootless.socket).toBe(`/proc/${rootless.launcherPid}/root/run/libvirt/virtqemud-sock`);
    expect(rootless.daemon?.uid).toBe(107);
    expect(rootless.qemu).toMatchObject({ uid: 107, capEff: '0000000000000400' });
    expect(formatCaps(rootless.qemu!.capEff)).toBe('0x400');
    expect(rootless.vmiUid).toMatch(/^[0-9a-f-]{36}$/);
    expect(ipcLock.qemu?.capEff).toBe('0000000000004400');
    expect(dvp).toMatchObject({ restricted: true, daemon: { uid: 64535 }, qemu: undefined });
    expect(dvp.status).toBeUndefined();
    // a running domain's status file, read by the scan from the node
    expect(rootless.status).toMatchObject({ state: 'running', vcpus: 1, memoryKiB: 262144 });
    expect(rootless.status!.uuid).toMatch(/^[0-9a-f-]{36}$/);
    expect(rootless.restricted).toBe(false);
    expect(kubevirtDomainName(rootless)).toBe(`${rootless.namespace}_${rootless.vm}`);
  });

  it('names the missing CAP_IPC_LOCK for a non-root launcher only', () => {
    const [rootless, ipcLock, dvp] = pods;
    const [finding] = capabilityFindings(rootless);
    expect(finding.id).toBe('kubevirt-no-ipc-lock');
    expect(finding.evidence).toContain('CapEff 0x400 (CAP_NET_BIND_SERVICE only');
    expect(finding.evidence).toContain('uid 107');
    expect(capabilityFindings(ipcLock)).toEqual([]);
    expect(capabilityFindings(dvp)).toEqual([]); // its QEMU was not read: nothing said
  });

  it("reaches a pod's libvirt read-only, by a URI no outside string is written into", () => {
    const uri = podUri(pods[0])!;
    expect(uri).toBe(`qemu+unix:///session?socket=/proc/${pods[0].launcherPid}/root/run/libvirt/virtqemud-sock`);
    expect(isPodUri(uri)).toBe(true);
    expect(virsh(uri, 'list')).toEqual(['virsh', '-q', '-r', '-c', uri, 'list']);
    expect(virsh('qemu:///system', 'list')).toEqual(['virsh', '-q', '-c', 'qemu:///system', 'list']);
    expect(podUri({ socket: '/proc/5/root/run/libvirt/virtqemud-sock', daemon: { pid: 6, uid: 0 } })).toMatch(
      /^qemu\+unix:\/\/\/system\?/,
    );
    expect(podUri({ socket: undefined })).toBeUndefined();
  });

  it('leaves out what is not a virt-launcher with Kubernetes names (the scan passes only [A-Za-z0-9._/-] words)', () => {
    expect(parsePodLine(line('prod'))).toMatchObject({ namespace: 'prod', vm: 'web1', vmiUid: UID });
    for (const ns of ['Prod', '-', '../etc', 'a_b', 'a.b', 'x'.repeat(64)])
      expect(parsePodLine(line(ns)), ns).toBeUndefined();
    expect(parsePodLine(line('p', '/usr/bin/virt-launcher-monitor'))).toBeUndefined();
    expect(parsePodLine(line('p', '/bin/sh'))).toBeUndefined();
    expect(parsePodLine(line('p', undefined, 'run 20 107 0 30 107 zz 0'))?.qemu).toBeUndefined();
    expect(parsePodLine(line('p', undefined, 'run 20 107 0 30 107 0000000000000400 0 extra'))).toBeUndefined();
    expect(parsePodLine('pod 10 run')).toBeUndefined();
    expect(parsePodLine(line('p').replace(UID, '-'))?.vmiUid).toBeUndefined();
    // a layout the scan does not know gives no socket: nothing is built from what a pod could choose
    expect(parsePodLine(line('p', undefined, '/x 20 107 0 30 107 0000000000000400 0'))?.socket).toBeUndefined();
  });

  it('says who owns the VM and what to use instead; and why DVP pods cannot be read', () => {
    expect(kubevirtOwnsMessage({ namespace: 'prod', vm: 'web1' }, 'migrating')).toContain(
      'virtctl migrate web1 -n prod',
    );
    const dvp = pods[2];
    const text = restrictedPodsMessage([dvp]);
    expect(text).toContain(`${dvp.namespace}/${dvp.vm} (launcher ${dvp.launcherPid})`);
    expect(text).toContain('LIBVIRT_UNIX_SOCKET_AUTH_PID');
    expect(text).toContain('vlctl -o json domain stats');
  });

  it('a throughput that holds level is named as the cap the node cannot read; a varying one is not', () => {
    const at = (mibps: number[]) =>
      mibps.map((m, i) => ({
        t: i * 50,
        bps: m * 2 ** 20,
        dirtyBps: 2 ** 20,
        remaining: 0,
        processed: 0,
        total: 0,
        iteration: 1,
      }));
    const [capped] = kubevirtCapFindings(at(Array.from({ length: 20 }, (_, i) => 40 + (i % 3))));
    expect(capped.id).toBe('kubevirt-bandwidth-cap');
    expect(capped.title).toContain('41 MiB/s');
    expect(capped.evidence).toContain('read-only');
    expect(kubevirtCapFindings(at(Array.from({ length: 20 }, (_, i) => 40 + i * 5)))).toEqual([]);
    expect(kubevirtCapFindings(at([40, 40, 40]))).toEqual([]); // too few samples to say
  });

  it('keeps a socket path far below the 108 bytes of a unix socket', () => {
    // the longest PID Linux gives keeps the socket path far below a unix socket's 108 bytes
    expect(`/proc/4194304/root/var/run/libvirt/virtqemud-sock`.length).toBeLessThan(108);
  });

  it('takes a running domain from the status file the scan read: UUID, state, vCPUs, memory', () => {
    const block = [
      line('prod'),
      'dom 10 11111111-2222-3333-4444-555555555555 paused migration 2 262144',
      'dom 99 22222222-2222-3333-4444-555555555555 running booted 1 1024', // no such pod
    ];
    const [pod] = parseScanBlock(block);
    expect(pod.status).toEqual({
      uuid: '11111111-2222-3333-4444-555555555555',
      state: 'paused',
      reason: 'migration',
      vcpus: 2,
      memoryKiB: 262144,
    });
    expect(domainFromPodStatus(pod)).toMatchObject({
      name: 'prod_web1',
      state: 'migrating', // paused for its migration's switchover
      vcpus: 2,
      memoryKiB: 262144,
      kubevirt: pod,
    });
    const [running] = parseScanBlock([line('prod'), 'dom 10 11111111-2222-3333-4444-555555555555 running booted 1 1']);
    expect(domainFromPodStatus(running)?.state).toBe('running');
    // what the awk could not read is "-": no status, the pod's libvirt is read instead
    expect(parseScanBlock([line('prod'), 'dom 10 - running booted 1 1'])[0].status).toBeUndefined();
    expect(domainFromPodStatus(parseScanBlock([line('prod')])[0])).toBeUndefined();
  });

  it('an unfinished block is not read', () => {
    expect(lastBlock(SCAN.replace('@scan\n', ''))).toBeUndefined();
  });
});
