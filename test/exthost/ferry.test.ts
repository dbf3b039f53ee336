import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { FerryApi } from '../../src/extension';
import type { DomainNode, HostNode, TreeNode } from '../../src/views/nodes';

const EXTENSION_ID = 'ferry-dev.ferry';
const lab = JSON.parse(process.env.FERRY_LAB_JSON ?? '{}') as { mgmtNet: string; hosts: { alias: string }[]; hostileDomain: { name: string; host: string } };

async function api(): Promise<FerryApi> {
  return (await vscode.extensions.getExtension(EXTENSION_ID)!.activate()) as FerryApi;
}

async function waitFor<T>(what: string, probe: () => T | undefined | false, timeoutMs = 20000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

suite('Ferry in the real extension host', () => {
  test('every command in package.json is registered, and every ferry.* command is in package.json', async () => {
    await api();
    const declared = (vscode.extensions.getExtension(EXTENSION_ID)!.packageJSON.contributes.commands as { command: string }[]).map((c) => c.command).sort();
    // VS Code itself registers ferry.hosts.* commands for the view (focus, resetViewLocation, …)
    const registered = (await vscode.commands.getCommands(true)).filter((c) => c.startsWith('ferry.') && !c.startsWith('ferry.hosts.')).sort();
    assert.deepEqual(registered, declared);
  });

  test('the tree lists the lab hosts, connected, with their domains', async () => {
    const { tree } = await api();
    const hosts = tree.getChildren() as HostNode[];
    assert.deepEqual(hosts.map((h) => h.alias), lab.hosts.map((h) => h.alias));
    const domains = await waitFor('hostA domains', () => {
      const children = tree.getChildren(hosts[0]);
      return children.length && children.every((c) => c.kind === 'domain') ? (children as DomainNode[]) : undefined;
    });
    const names = domains.map((d) => d.domain.name);
    assert.ok(names.includes('tiny1'), names.join(', '));
    assert.ok(names.includes(lab.hostileDomain.name), names.join(', '));
    const item = tree.getTreeItem(domains.find((d) => d.domain.name === 'tiny1')!);
    assert.equal(item.contextValue, 'domain:running');
    assert.match(String(item.description), /^running · 1 vCPU · 512 MiB/);
  });

  test('start and force-off commands act on a tree node (force off confirmed by the test)', async () => {
    const { tree, context } = await api();
    const hostA = context.registry.get(lab.hostileDomain.host)!;
    const node = (): DomainNode => ({ kind: 'domain', alias: hostA.alias, domain: hostA.domains!.find((d) => d.name === lab.hostileDomain.name)! });
    if (node().domain.state !== 'shutoff') await hostA.runAction('forceOff', node().domain.uuid);
    await vscode.commands.executeCommand('ferry.domain.start', node());
    assert.equal(node().domain.state, 'running');
    assert.equal(tree.getTreeItem(node()).contextValue, 'domain:running');
    await vscode.commands.executeCommand('ferry.domain.pause', node());
    assert.equal(node().domain.state, 'paused');
    await vscode.commands.executeCommand('ferry.domain.resume', node());
    assert.equal(node().domain.state, 'running');
    await hostA.runAction('forceOff', node().domain.uuid); // the modal confirmation is covered by the UI test
    assert.equal(node().domain.state, 'shutoff');
  });

  test('Migrate Domain moves tiny1 to hostB and back (Fast, then Safe), the tree following', async () => {
    const { tree, context } = await api();
    const [a, b] = lab.hosts.map((h) => h.alias);
    const node = (alias: string) => (tree.getChildren({ kind: 'host', alias }) as DomainNode[]).find((n) => n.kind === 'domain' && n.domain.name === 'tiny1');
    const there = (await vscode.commands.executeCommand('ferry.domain.migrate', node(a), undefined, { target: b, profile: 'fast' })) as { phase: string; summary?: { type: string } }[];
    assert.equal(there[0].phase, 'completed');
    assert.equal(there[0].summary?.type, 'completed');
    await waitFor('tiny1 running on hostB in the tree', () => node(b)?.domain.state === 'running');
    assert.equal(context.migrations.running.length, 0);
    const back = (await vscode.commands.executeCommand('ferry.domain.migrate', node(b), undefined, { target: a, profile: 'safe' })) as { phase: string }[];
    assert.equal(back[0].phase, 'completed');
    await waitFor('tiny1 running on hostA in the tree', () => node(a)?.domain.state === 'running');
  });

  test('a host that cannot be reached shows an inline message node with a retry action, not a toast', async () => {
    const { tree, context } = await api();
    // a lab address (so the lab's ssh config supplies the key) on a port where nothing listens
    const badAlias = `root@${lab.mgmtNet}.13:1`;
    await vscode.workspace.getConfiguration('ferry').update('hosts', [...lab.hosts.map((h) => h.alias), badAlias], vscode.ConfigurationTarget.Global);
    try {
      const bad: TreeNode = { kind: 'host', alias: badAlias };
      const [message] = await waitFor('the message node', () => {
        const children = tree.getChildren(bad);
        return children[0]?.kind === 'message' ? children : undefined;
      });
      const item = tree.getTreeItem(message);
      assert.equal(item.contextValue, 'message:retry');
      assert.match(String(item.label), /Connection refused/);
      assert.equal(item.command?.command, 'ferry.host.connect');
      assert.equal(context.registry.get(badAlias)!.connection.state.kind, 'failed');
    } finally {
      await vscode.workspace.getConfiguration('ferry').update('hosts', lab.hosts.map((h) => h.alias), vscode.ConfigurationTarget.Global);
    }
  });
});
