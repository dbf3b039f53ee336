import * as assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as vscode from 'vscode';
import type { FerryApi } from '../../src/extension';
import type { QosResult } from '../../src/services/qos';
import type { DomainNode, HostNode, InterfaceNode, TreeNode } from '../../src/views/nodes';
import type { Answer } from '../../src/vscode/userInput';
import { waitFor } from '../support/waitFor';

const EXTENSION_ID = 'ferry-dev.ferry';
const lab = JSON.parse(process.env.FERRY_LAB_JSON ?? '{}') as {
  mgmtNet: string;
  hosts: { alias: string }[];
  hostileDomain: { name: string; host: string };
};

async function api(): Promise<FerryApi> {
  return (await vscode.extensions.getExtension(EXTENSION_ID)!.activate()) as FerryApi;
}

/**
 * Run a Ferry command as the tree or palette would; if it fails, reject with the error its user was shown (commands
 * show errors rather than throw them, so a bare executeCommand would resolve undefined and fail later, elsewhere).
 */
async function run<T>(command: string, ...args: unknown[]): Promise<T> {
  return answered<T>(command, [], ...args);
}

/** run, its questions answered in order from `answers` (labels to pick, texts to type, buttons to press) */
async function answered<T>(command: string, answers: Answer[], ...args: unknown[]): Promise<T> {
  const failures: string[] = [];
  const ferry = await api();
  const sub = ferry.onDidFailCommand((f) => f.id === command && failures.push(f.message));
  ferry.answerNextRun(command, answers);
  try {
    const result = await vscode.commands.executeCommand<T>(command, ...args);
    if (failures.length) throw new Error(`${command} failed: ${failures.join('; ')}`);
    return result;
  } finally {
    sub.dispose();
  }
}

suite('Ferry in the real extension host', () => {
  test('every command in package.json is registered, and every ferry.* command is in package.json', async () => {
    await api();
    const declared = (
      vscode.extensions.getExtension(EXTENSION_ID)!.packageJSON.contributes.commands as { command: string }[]
    )
      .map((c) => c.command)
      .sort();
    // VS Code itself registers ferry.hosts.* commands for the view (focus, resetViewLocation, …)
    const registered = (await vscode.commands.getCommands(true))
      .filter((c) => c.startsWith('ferry.') && !c.startsWith('ferry.hosts.'))
      .sort();
    assert.deepEqual(registered, declared);
  });

  test('prefers the UI side (where the keys are) and runs on the workspace side when it must: code-server', async () => {
    const ferry = vscode.extensions.getExtension(EXTENSION_ID)!;
    await ferry.activate();
    assert.deepEqual(ferry.packageJSON.extensionKind, ['ui', 'workspace']);
    // code-server is a remote window whose UI side is a browser: a Node extension can only run beside the workspace
    assert.equal(ferry.extensionKind, vscode.ExtensionKind.Workspace);
  });

  test("the walkthrough's steps: each completed by a Ferry command its text links to, each command run", async () => {
    const ferry = vscode.extensions.getExtension(EXTENSION_ID)!;
    const nls = JSON.parse(readFileSync(join(ferry.extensionPath, 'package.nls.json'), 'utf8')) as Record<
      string,
      string
    >;
    const text = (v: string) => nls[/^%(.+)%$/.exec(v)?.[1] ?? ''] ?? v;
    const [walkthrough] = ferry.packageJSON.contributes.walkthroughs as {
      id: string;
      steps: { id: string; description: string; completionEvents: string[] }[];
    }[];
    const registered = new Set(await vscode.commands.getCommands(true));
    const views = (ferry.packageJSON.contributes.views.ferry as { id: string }[]).map((v) => v.id);
    assert.deepEqual(
      walkthrough.steps.map((s) => s.id),
      ['addHost', 'seeDomains', 'migrate', 'limit'],
    );
    for (const step of walkthrough.steps) {
      const linked = [...text(step.description).matchAll(/\]\(command:([\w.]+)\)/g)].map((m) => m[1]);
      assert.ok(linked.length, `${step.id}: its text links to no command`);
      for (const command of linked) assert.ok(registered.has(command), `${step.id}: ${command} is not a command`);
      for (const event of step.completionEvents) {
        const [kind, what] = event.split(':');
        if (kind === 'onView') assert.ok(views.includes(what), `${step.id}: no view ${what}`);
        else assert.ok(kind === 'onCommand' && linked.includes(what), `${step.id}: ${event} is not one of its links`);
      }
    }
    // run each step's command as its button would, once the lab's domains are listed (the pickers offer them); the
    // person closes each first prompt (Escape)
    const { context } = await api();
    await waitFor('a running domain listed', () =>
      context.registry.hosts.some((h) => h.domains?.some((d) => d.state === 'running')),
    );
    for (const command of ['ferry.host.add', 'ferry.domain.migrate', 'ferry.interface.setBandwidth'])
      await answered(command, [undefined]);
    await vscode.commands.executeCommand('ferry.hosts.focus');
    await vscode.commands.executeCommand(
      'workbench.action.openWalkthrough',
      `${EXTENSION_ID}#${walkthrough.id}`,
      false,
    );
    await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
  });

  test('the tree lists the lab hosts, connected, with their domains', async () => {
    const { tree } = await api();
    const hosts = tree.getChildren() as HostNode[];
    assert.deepEqual(
      hosts.map((h) => h.alias),
      lab.hosts.map((h) => h.alias),
    );
    const domains = await waitFor('hostA domains', () => {
      const children = tree.getChildren(hosts[0]) as TreeNode[];
      return children.length && children.every((c) => c.kind === 'domain') ? (children as DomainNode[]) : undefined;
    });
    const names = domains.map((d) => d.domain.name);
    assert.ok(names.includes('tiny1'), names.join(', '));
    assert.ok(names.includes(lab.hostileDomain.name), names.join(', '));
    const item = tree.getTreeItem(domains.find((d) => d.domain.name === 'tiny1')!);
    assert.equal(item.contextValue, 'domain:running');
    assert.match(String(item.description), /^running · 1 vCPU · 512 MiB/);
  });

  test('start, pause, resume and force-off commands act on a tree node (force off confirmed in its modal)', async () => {
    const { tree, context } = await api();
    const hostA = context.registry.get(lab.hostileDomain.host)!;
    const node = (): DomainNode => ({
      kind: 'domain',
      alias: hostA.alias,
      domain: hostA.domains!.find((d) => d.name === lab.hostileDomain.name)!,
    });
    if (node().domain.state !== 'shutoff') await hostA.runAction('forceOff', node().domain.uuid);
    await run('ferry.domain.start', node());
    assert.equal(node().domain.state, 'running');
    assert.equal(tree.getTreeItem(node()).contextValue, 'domain:running');
    await run('ferry.domain.pause', node());
    assert.equal(node().domain.state, 'paused');
    await run('ferry.domain.resume', node());
    assert.equal(node().domain.state, 'running');
    await answered('ferry.domain.forceOff', ['Force Off'], node());
    assert.equal(node().domain.state, 'shutoff');
    assert.equal(tree.getTreeItem(node()).contextValue, 'domain:shutoff');
  });

  test('Migrate Domain moves tiny1 to hostB and back (Fast, then Safe), the tree following', async () => {
    const { tree, context } = await api();
    const [a, b] = lab.hosts.map((h) => h.alias);
    const node = (alias: string) =>
      (tree.getChildren({ kind: 'host', alias }) as DomainNode[]).find(
        (n) => n.kind === 'domain' && n.domain.name === 'tiny1',
      );
    const there = await answered<{ phase: string; summary?: { type: string } }[]>(
      'ferry.domain.migrate',
      [b, 'Fast'],
      node(a),
    );
    assert.equal(there[0].phase, 'completed');
    assert.equal(there[0].summary?.type, 'completed');
    await waitFor('tiny1 running on hostB in the tree', () => node(b)?.domain.state === 'running');
    assert.equal(context.migrations.running.length, 0);
    const back = await answered<{ phase: string }[]>('ferry.domain.migrate', [a, 'Safe'], node(b));
    assert.equal(back[0].phase, 'completed');
    await waitFor('tiny1 running on hostA in the tree', () => node(a)?.domain.state === 'running');
  });

  test('a running domain expands to its interfaces; a limit set through the command shows on the row, read back', async () => {
    const { tree } = await api();
    const [a] = lab.hosts.map((h) => h.alias);
    const tiny1 = await waitFor('tiny1 on hostA', () =>
      (tree.getChildren({ kind: 'host', alias: a }) as TreeNode[]).find(
        (n): n is DomainNode => n.kind === 'domain' && n.domain.name === 'tiny1' && n.domain.state === 'running',
      ),
    );
    const rows = async () => (await tree.getChildren(tiny1)) as InterfaceNode[];
    const [row] = await rows();
    assert.equal(row.kind, 'interface');
    assert.equal(row.iface.mac, '52:54:00:00:01:64');
    assert.equal(tree.getTreeItem(row).contextValue, 'interface:qos:running:open');
    assert.match(String(tree.getTreeItem(row).description), /^virtio · bridge br0 · vnet\d+ · no limit$/);
    // direction, unit, average, peak, burst (empty: the kernel's default), scope, and the confirmation
    const inbound = (unit: string, average: string, peak: string) => [
      'Inbound (into the guest)',
      unit,
      average,
      peak,
      '',
    ];
    try {
      const [result] = await answered<QosResult[]>(
        'ferry.interface.setBandwidth',
        [...inbound('Mbit/s', '10', '20'), 'Live only', 'Apply'],
        row,
      );
      assert.deepEqual(result.mismatches, []);
      const [limited] = await rows();
      assert.match(String(tree.getTreeItem(limited).description), /· ↓ 10 Mbit\/s \(peak 20 Mbit\/s\)$/);
      assert.equal(tree.getTreeItem(limited).contextValue, 'interface:qos:running:limited');
      // a value that would silently mean "no limit" is asked about before anything changes; declined, the limit stays
      const ferry = await api();
      const script = ferry.answerNextRun('ferry.interface.setBandwidth', [
        ...inbound('kbit/s', '3', ''),
        'Live only',
        undefined,
      ]);
      await vscode.commands.executeCommand('ferry.interface.setBandwidth', limited);
      assert.deepEqual(script.unused, []);
      const warning = script.asked.at(-1)!;
      assert.equal(warning.kind, 'askModal');
      assert.match(warning.text, /^A value would silently mean "no limit"\n/);
      assert.match(warning.text, /inbound average 3 kbit\/s is 0\.375 kB\/s, which libvirt would store as 0/);
      assert.match(String(tree.getTreeItem((await rows())[0]).description), /↓ 10 Mbit\/s/);
    } finally {
      // only if the limit was set: a failure above keeps its own message
      const [now] = await rows();
      if (now.iface.bandwidth.inbound) await answered('ferry.interface.removeLimit', ['Live only'], now);
    }
    assert.match(String(tree.getTreeItem((await rows())[0]).description), /no limit$/);
  });

  test('a command that fails reports its own error to its caller', async () => {
    const { tree } = await api();
    const [a] = lab.hosts.map((h) => h.alias);
    const tiny1 = (tree.getChildren({ kind: 'host', alias: a }) as DomainNode[]).find(
      (n) => n.kind === 'domain' && n.domain.name === 'tiny1',
    );
    // custom options that cannot work together: zero-copy send without parallel connections
    const zeroCopyAlone = [lab.hosts[1].alias, 'Custom…', ['Zero-copy send (needs parallel connections)'], '', '', ''];
    await assert.rejects(
      answered('ferry.domain.migrate', zeroCopyAlone, tiny1),
      /ferry\.domain\.migrate failed: These options cannot work together: zero-copy send needs parallel connections/,
    );
  });

  test('a domain named like a command link is shown in the error notification and the tooltip as text, no live link', async () => {
    const { tree } = await api();
    // VS Code's link syntax in notifications (src/vs/base/common/linkedText.ts, parseLinkedText: no escape stops it)
    // and icon syntax (src/vs/base/browser/ui/iconLabel/iconLabels.ts). A notification's text cannot be read back
    // from the extension host: onDidFailCommand carries the very string the command wrapper hands showErrorMessage.
    const LINK = /\[([^\]]+)\]\(((?:https?:\/\/|command:|file:)[^)\s]+)(?: (["'])(.+?)(\3))?\)/i;
    const ICON = /(?<!\\)\$\([A-Za-z0-9-]+(?:~[A-Za-z]+)?\)/;
    const name = '[click](command:workbench.action.terminal.new) $(alert)';
    const node: DomainNode = {
      kind: 'domain',
      alias: lab.hosts[0].alias,
      domain: {
        uuid: '0f0e0d0c-0b0a-4909-8807-0605040302ff',
        name,
        state: 'running',
        stateReason: 1,
        ips: [],
        heardIps: [],
      },
    };
    // no migration of it runs: Set Migration Bandwidth fails, naming the domain in the error it shows
    const shown = await run('ferry.migration.setBandwidth', node).then(
      () => assert.fail('Set Migration Bandwidth succeeded for a domain with no migration'),
      (e: Error) => e.message,
    );
    assert.match(shown, /has no migration running that Ferry follows/);
    assert.doesNotMatch(shown, LINK);
    assert.doesNotMatch(shown, ICON);
    // it reads the same: only invisible word joiners were added
    assert.ok(shown.replace(/\u2060/g, '').includes(`${name} has no migration running`), shown);
    // the tooltip is markdown, untrusted, the name in it escaped; the tree's label is plain text VS Code shows as it is
    const item = tree.getTreeItem(node);
    const tooltip = item.tooltip as vscode.MarkdownString;
    assert.ok(!tooltip.isTrusted);
    assert.doesNotMatch(tooltip.value, /\]\(command:/);
    assert.equal(item.label, name);
  });

  test("the run history keeps a run of Ferry's own form and refuses any path out of its folder", async () => {
    const { context } = await api();
    const store = context.migrationStore;
    const uuid = '0f0e0d0c-0b0a-4909-8807-060504030201';
    const run = {
      id: `${uuid}-1795310880246`,
      domainUuid: uuid,
      domainName: 'imported-vm',
      source: 'a',
      target: 'b',
      startedAt: 1795310880246,
      phase: 'completed' as const,
      percent: 100,
      samples: [],
      markers: [],
    };
    await assert.rejects(store.addToHistory({ ...run, id: '../../../../User/settings' }), /not a run id/);
    await assert.rejects(store.addToHistory({ ...run, domainUuid: '../..', id: '../..-1' }), /not a domain UUID/);
    assert.equal(await store.run('../..', run.id), undefined);
    await store.addToHistory(run);
    assert.equal((await store.run(uuid, run.id))?.domainName, 'imported-vm');
    // readable by the user alone (the run dir is the one e2e/code-shim.mjs gave code-server)
    const file = join(
      process.env.FERRY_E2E_RUN!,
      'ud',
      'User',
      'globalStorage',
      EXTENSION_ID,
      'history',
      uuid,
      `${run.id}.json`,
    );
    assert.equal((statSync(file).mode & 0o777).toString(8), '600');
    assert.equal((statSync(dirname(file)).mode & 0o777).toString(8), '700');
    assert.ok((await store.allRuns()).some((r) => r.id === run.id));
  });

  test('Add Host keeps a typed address that cannot be reached; the tree shows it with a retry action, not a toast', async () => {
    const { tree, context } = await api();
    // a lab address (so the lab's ssh config supplies the key) on a port where nothing listens
    const badAlias = `root@${lab.mgmtNet}.13:1`;
    try {
      await assert.rejects(answered('ferry.host.add', [badAlias]), (e: Error) => {
        assert.equal(
          e.message,
          `ferry.host.add failed: ${badAlias} (${badAlias}): connection refused. Is sshd running on that port?`,
        );
        return true;
      });
      const hosts = vscode.workspace.getConfiguration('ferry').get<string[]>('hosts');
      assert.deepEqual(hosts, [...lab.hosts.map((h) => h.alias), badAlias]);
      const bad: TreeNode = { kind: 'host', alias: badAlias };
      const [message] = await waitFor('the message node', () => {
        const children = tree.getChildren(bad) as TreeNode[];
        return children[0]?.kind === 'message' ? children : undefined;
      });
      const item = tree.getTreeItem(message);
      assert.equal(item.contextValue, 'message:retry');
      assert.match(String(item.label), /Connection refused/);
      assert.equal(item.command?.command, 'ferry.host.connect');
      assert.equal(context.registry.get(badAlias)!.connection.state.kind, 'failed');
    } finally {
      await vscode.workspace.getConfiguration('ferry').update(
        'hosts',
        lab.hosts.map((h) => h.alias),
        vscode.ConfigurationTarget.Global,
      );
    }
  });
});
