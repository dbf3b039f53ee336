/**
 * The domains of one host, kept current without polling: a full listing on every (re)connect, then
 * `virsh event --loop` on one long-lived channel. A lifecycle event is applied by itself (the domain's new state, or
 * its removal), so a host with a thousand domains is not listed again per event; a domain not known yet costs one
 * `domname` per burst (named by UUID: nothing from a host is written to a shell), and a full listing (states, vCPUs,
 * memory) follows once events pause.
 */
import { randomBytes } from 'node:crypto';
import type { Domain, DomainState, LifecycleAction } from '../core/domain';
import { isUuid, keepUnchanged, lifecycleEffect } from '../core/domain';
import type { DomainList, DomainListEvent } from '../core/domainList';
import { emptyDomainList, reduceDomainList, removedSince } from '../core/domainList';
import type { DomainAddresses } from '../core/virsh';
import type { Event } from '../core/emitter';
import { DisposableStore } from '../core/disposables';
import { Emitter } from '../core/emitter';
import {
  type DomainStats,
  DOMSTATS_WORDS,
  domainsFrom,
  domstatsBlocks,
  eventsArgv,
  lifecycleArgv,
  listDomainsArgv,
  listedUuids,
  listingIsAmbiguous,
  parseAddresses,
  parseDomainList,
  parseEventLine,
  splitListing,
  statsNameEachOnce,
} from '../core/virsh';
import type { RemoteHost } from '../remote/remoteHost';
import type { HostConnection } from '../transport/hostConnection';
import type { Logger } from '../transport/logger';
import type { RemoteStream } from '../transport/sshConnection';
import { DEFAULT_EXEC_TIMEOUT_MS } from '../transport/sshConnection';
import { SshError } from '../transport/sshError';
import { LibvirtError, virshErrorText } from './libvirtError';
import { KubevirtNode } from './kubevirtNode';
import { VirshShell } from './virshShell';
import { addressesArgv } from '../remote/addresses';
import { qemuOfUuidArgv } from '../remote/qemuProbe';

const REFRESH_DEBOUNCE_MS = 40;
/**
 * What the listing puts between the listings and the statistics (core/virsh listDomainsArgv): random, so no domain's
 * name can hold it, and with a '/', which the QEMU driver refuses in a name (other libvirt drivers take one).
 */
export const newStatsMark = (): string => `@stats/${randomBytes(8).toString('hex')}`;

/** after events applied by themselves, the full listing that confirms them: once they pause this long… */
const RECONCILE_QUIET_MS = 2000;
/**
 * …or this long after the first, if they never pause (give or take a few seconds, so hosts connected together do not
 * all list at once: a thousand domains' statistics are the heaviest thing Ferry asks of a host)
 */
const RECONCILE_LATEST_MS = 30_000;
const RECONCILE_SPREAD_MS = 5_000;
/** while libvirt is unusable on a reachable host, look again this often (it may be restarting) */
const LIBVIRT_RETRY_MS = 5000;
/**
 * A running domain's addresses are read when it is first seen running here and once more this much later if none
 * was known (a guest that has just booted or arrived may not have been heard on the network yet); not polled.
 */
const ADDRESS_RETRY_MS = 10_000;

/**
 * `H`: the host it lists, as its owner sees it (the registry's inventories hold HostConnections, which the commands
 * connect and disconnect); the inventory itself only needs a RemoteHost.
 */
export class HostInventory<H extends RemoteHost = HostConnection> {
  private readonly disposables = new DisposableStore();
  private readonly changeEmitter = this.disposables.add(new Emitter<void>());
  readonly onDidChange: Event<void> = this.changeEmitter.event;
  private readonly migrationEmitter = this.disposables.add(new Emitter<string>());
  /** a domain's outgoing migration announced itself (a migration-iteration event), whoever started it */
  readonly onDidSeeMigration: Event<string> = this.migrationEmitter.event;
  /** the domains shown and the events applied to them (core/domainList) */
  private list: DomainList = emptyDomainList;
  /** set when the host is reachable but libvirt is not usable */
  libvirtError: string | undefined;
  /** names seen in migration-iteration events, shown as migrating until their next lifecycle event */
  private readonly migrating = new Set<string>();
  private events: RemoteStream | undefined;
  private refreshing: Promise<void> | undefined;
  private queued: Promise<void> | undefined;
  /** whether a listing since the last connect was shown: the first always is, even when it matches the old one */
  private listedSinceConnect = false;
  private debounce: NodeJS.Timeout | undefined;
  private reconcileQuiet: NodeJS.Timeout | undefined;
  private reconcileLatest: NodeJS.Timeout | undefined;
  private identifying: Promise<void> | undefined;
  private identifyAgain = false;
  private shell: VirshShell | undefined;
  /** names events brought that the domains shown lack: the next light listing finds their UUIDs */
  private readonly unidentified = new Set<string>();
  private libvirtRetry: NodeJS.Timeout | undefined;
  /** UUID → IP addresses of the domains running here, and how often each was read since it was seen running */
  private readonly addresses = new Map<string, DomainAddresses>();
  private readonly addressReads = new Map<string, number>();
  private readonly addressRetries = new Set<NodeJS.Timeout>();

  /** the virt-launcher pods on this host, if it is a KubeVirt node, and their domains */
  readonly kubevirt: KubevirtNode;

  constructor(
    readonly connection: H,
    private readonly uri: string,
    private readonly log: Logger,
    /** how long a listing may take before the host shows as not answering */
    private readonly listTimeoutMs = DEFAULT_EXEC_TIMEOUT_MS,
  ) {
    this.kubevirt = this.disposables.add(new KubevirtNode(connection, log));
    this.disposables.add(this.kubevirt.onDidChange(() => this.changeEmitter.fire()));
    this.disposables.add(
      connection.onDidConnect(() => {
        this.listedSinceConnect = false;
        // events missed while the link was down may have ended a migration (or a save): its next iteration event says
        // so again if one still runs
        this.migrating.clear();
        this.shell?.close();
        this.shell = undefined;
        void this.refresh()
          // then the light listing's virsh, ready for the first domain an event names (after the tree is drawn)
          .then(() => VirshShell.open(connection, uri, 'listing shell', { timeoutMs: listTimeoutMs }))
          .then((shell) =>
            this.disposed || connection.state.kind !== 'connected' || (this.shell && !this.shell.isClosed)
              ? shell.close()
              : (this.shell = shell),
          )
          .catch(() => undefined);
        void this.watchEvents();
      }),
    );
    this.disposables.add(
      connection.onDidChangeState((s) => {
        if (s.kind !== 'connected') this.changeEmitter.fire();
      }),
    );
  }

  get alias() {
    return this.connection.alias;
  }

  /** the domains shown; undefined before the first listing, or while libvirt is not usable */
  get domains(): Domain[] | undefined {
    return this.list.domains;
  }

  /** The domain list after `event`; addresses follow the running domains of a list that changed. */
  private reduce(event: DomainListEvent): void {
    const next = reduceDomainList(this.list, event);
    this.list =
      next.domains && next.domains !== this.list.domains
        ? { ...next, domains: this.trackAddresses(next.domains) }
        : next;
  }

  /**
   * Re-list all domains. The returned listing always starts after the call (so it sees an action just taken);
   * calls made while one runs share a single follow-up.
   */
  refresh(): Promise<void> {
    if (this.refreshing) {
      this.queued ??= this.refreshing
        .catch(() => undefined)
        .then(() => {
          this.queued = undefined;
          return this.refresh();
        });
      return this.queued;
    }
    this.refreshing = Promise.all([this.listAll(), this.kubevirt.refresh()])
      .then(() => undefined)
      .finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  private async listAll(): Promise<void> {
    const since = this.list.eventCount;
    const [shown, shownError] = [this.domains, this.libvirtError];
    try {
      const statsMark = newStatsMark();
      const listing = await this.connection.exec(listDomainsArgv(this.uri, statsMark), {
        timeoutMs: this.listTimeoutMs,
      });
      // virsh runs every command of its line and exits with the last one's status: an earlier one's error is only
      // on stderr (libvirtd restarting between two of them, say)
      if (listing.code !== 0 || /^error:/m.test(listing.stderr))
        throw new LibvirtError(this.alias, virshErrorText(listing.stderr, listing.code));
      const parts = splitListing(listing.stdout, statsMark);
      if (!parts) throw new LibvirtError(this.alias, "virsh ended its listing before the domains' statistics");
      const list = await this.namedExactly(parts.listings);
      const domains = domainsFrom(list, await this.statsExactly(list, parts.stats));
      // each domain the listing only confirms keeps its object, addresses included
      const listed = reduceDomainList(this.list, { kind: 'listing', domains, since, migrating: this.migrating });
      this.list = { ...listed, domains: keepUnchanged(this.list.domains, this.trackAddresses(listed.domains!)) };
      this.libvirtError = undefined;
    } catch (e) {
      // a listing that never answers (libvirtd hung) shows like libvirt being down: a message on the host, retried
      const hung = e instanceof SshError && e.kind === 'timeout';
      if (e instanceof LibvirtError || hung) {
        this.libvirtError = hung ? `libvirtd did not answer within ${this.listTimeoutMs / 1000} s (hung?)` : e.message;
        this.reduce({ kind: 'unlisted' });
        clearTimeout(this.libvirtRetry);
        this.libvirtRetry = setTimeout(() => {
          if (this.connection.state.kind === 'connected') void this.refresh().catch(() => undefined);
        }, LIBVIRT_RETRY_MS);
      }
      if (!(e instanceof SshError && e.kind === 'closed'))
        this.log.warn(`${this.alias}: listing domains failed: ${(e as Error).message}`);
      throw e;
    } finally {
      // a listing that only confirms what is shown redraws nothing
      const changed = this.domains !== shown || this.libvirtError !== shownError || !this.listedSinceConnect;
      this.listedSinceConnect = true;
      if (!this.disposed && changed) this.changeEmitter.fire();
    }
  }

  /**
   * The listing's UUIDs and names. A listing where a name's line break is followed by a listed UUID cannot tell where
   * names end: each name is then asked of the listing shell by UUID.
   */
  private async namedExactly(listing: string): Promise<{ uuid: string; name: string }[]> {
    const list = parseDomainList(listing);
    if (!listingIsAmbiguous(listing)) return list;
    this.log.warn(`${this.alias}: a domain name holds a line that starts like another domain's; naming each by UUID`);
    const shell = await this.listingShell();
    const uuids = listedUuids(listing);
    const names = await namesOf(shell, uuids);
    return uuids.filter((u) => names.has(u)).map((uuid) => ({ uuid, name: names.get(uuid)! }));
  }

  /**
   * The domains' statistics by name. Where a name made domstats' blocks read otherwise than one per listed domain
   * (a name can hold what looks like the end of its block and another domain's start), each domain's are asked of the
   * listing shell by UUID.
   */
  private async statsExactly(
    list: readonly { uuid: string; name: string }[],
    text: string,
  ): Promise<Map<string, DomainStats>> {
    const blocks = domstatsBlocks(text);
    const names = list.map((d) => d.name);
    if (statsNameEachOnce(blocks, names)) return new Map(blocks.map((b) => [b.name, b.stats]));
    this.log.warn(`${this.alias}: a domain name reads like domstats' own lines; asking each domain's by UUID`);
    return statsOf(await this.listingShell(), list);
  }

  /** The light listing's virsh, opened again if it ended (or gave up on a question that got no answer). */
  private async listingShell(): Promise<VirshShell> {
    if (!this.shell || this.shell.isClosed)
      this.shell = await VirshShell.open(this.connection, this.uri, 'listing shell', { timeoutMs: this.listTimeoutMs });
    return this.shell;
  }

  /**
   * A lifecycle event applied to the domains shown, without asking the host (a domain not known yet is identified
   * by the light listing, coalesced); false before the first listing, when there is nothing to apply it to.
   */
  private applyLifecycle(name: string, effect: DomainState | 'removed' | 'defined'): boolean {
    if (!this.domains) return false;
    const known = this.domains.some((d) => d.name === name);
    const shown = this.domains;
    this.reduce({ kind: 'lifecycle', name, effect });
    if (!known && effect !== 'removed') {
      this.unidentified.add(name);
      this.identify();
      return true;
    }
    if (effect === 'removed') this.unidentified.delete(name);
    if (this.domains !== shown) this.changeEmitter.fire();
    this.scheduleReconcile();
    return true;
  }

  /**
   * The UUIDs of domains events named that are not known yet, asked of one interactive virsh kept open on the host
   * (a burst of definitions costs the host a libvirt call each, no process or connection), coalesced. A name it
   * cannot find, and that was not undefined since, leaves it to the full listing.
   */
  private identify(): void {
    if (this.identifying) {
      this.identifyAgain = true;
      return;
    }
    this.identifying = (async () => {
      do {
        this.identifyAgain = false;
        const since = this.list.eventCount;
        const wanted = new Set(this.unidentified);
        this.unidentified.clear();
        // a later event of a domain the round before identified needs no round of its own
        const names = [...wanted].filter((n) => !this.domains?.some((d) => d.name === n));
        if (!names.length) continue;
        let uuids: (string | undefined)[];
        try {
          const shell = await this.listingShell();
          uuids = await uuidsByPlainName(shell, names);
          const rest = names.filter((_, i) => !uuids[i]);
          if (rest.length) {
            const shown = new Set([...(this.domains?.map((d) => d.uuid) ?? []), ...uuids]);
            const unknown = (await uuidsOn(shell)).filter((u) => !shown.has(u));
            if (unknown.length > NAME_EACH_LIMIT) throw new Error(`${unknown.length} domains not shown yet`);
            const byName = new Map([...(await namesOf(shell, unknown))].map(([u, n]) => [n, u]));
            uuids = names.map((n, i) => uuids[i] ?? byName.get(n));
          }
        } catch (e) {
          this.log.debug(`${this.alias}: the listing shell failed (${(e as Error).message}); listing in full`);
          this.shell?.close();
          this.shell = undefined;
          return void this.scheduleRefresh();
        }
        if (!this.domains || this.disposed) return;
        const found = names
          .map((name, i) => ({ name, uuid: uuids[i] }))
          .filter((d): d is { name: string; uuid: string } => !!d.uuid);
        // defined shut off; an event since that says otherwise is replayed; the full listing follows
        this.reduce({ kind: 'identified', found, since });
        this.changeEmitter.fire();
        // a name neither found nor undefined since is one the light listing cannot see: the full listing will
        const gone = removedSince(this.list, since);
        if (names.some((n, i) => !uuids[i] && !gone.has(n))) this.scheduleRefresh();
        else this.scheduleReconcile();
      } while (this.identifyAgain);
    })().finally(() => (this.identifying = undefined));
  }

  /** The full listing that confirms what events said (and reads what they do not: vCPUs, memory, reasons). */
  private scheduleReconcile(): void {
    const run = () => {
      clearTimeout(this.reconcileQuiet);
      clearTimeout(this.reconcileLatest);
      this.reconcileQuiet = this.reconcileLatest = undefined;
      void this.refresh().catch(() => undefined);
    };
    clearTimeout(this.reconcileQuiet);
    this.reconcileQuiet = setTimeout(run, RECONCILE_QUIET_MS);
    this.reconcileLatest ??= setTimeout(run, RECONCILE_LATEST_MS + Math.random() * RECONCILE_SPREAD_MS);
  }

  private trackAddresses(domains: Domain[]): Domain[] {
    const running = new Set(
      domains
        .filter((d) => d.state === 'running' || d.state === 'paused' || d.state === 'migrating')
        .map((d) => d.uuid),
    );
    for (const u of [...this.addressReads.keys()]) {
      if (running.has(u)) continue;
      this.addressReads.delete(u);
      this.addresses.delete(u);
    }
    const unread = [...running].filter((u) => !this.addressReads.has(u));
    if (unread.length) void this.readAddresses(unread);
    return this.withAddresses(domains);
  }

  /** The domains with the addresses known now: a new object only for a domain whose addresses differ. */
  private withAddresses(domains: Domain[]): Domain[] {
    const same = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x, i) => x === b[i]);
    return domains.map((d) => {
      const ips = this.addresses.get(d.uuid)?.leased ?? [];
      const heardIps = this.addresses.get(d.uuid)?.heard ?? [];
      return same(d.ips, ips) && same(d.heardIps, heardIps) ? d : { ...d, ips, heardIps };
    });
  }

  private async readAddresses(uuids: string[]): Promise<void> {
    for (const u of uuids) this.addressReads.set(u, (this.addressReads.get(u) ?? 0) + 1);
    let found: Map<string, DomainAddresses>;
    try {
      found = parseAddresses(
        (await this.connection.exec(addressesArgv(this.uri, uuids), { timeoutMs: 60_000 })).stdout,
      );
    } catch (e) {
      this.log.debug(`${this.alias}: reading domain addresses failed: ${(e as Error).message}`);
      return;
    }
    let changed = false;
    for (const [u, ips] of found) {
      if (!this.addressReads.has(u) || JSON.stringify(ips) === JSON.stringify(this.addresses.get(u))) continue; // gone meanwhile, or the same
      this.addresses.set(u, ips);
      changed = true;
    }
    if (changed && this.domains && !this.disposed) {
      this.list = { ...this.list, domains: this.withAddresses(this.domains) };
      this.changeEmitter.fire();
    }
    const again = uuids.filter(
      (u) =>
        this.addressReads.get(u) === 1 && !this.addresses.get(u)?.leased.length && !this.addresses.get(u)?.heard.length,
    );
    if (!again.length || this.disposed) return;
    const timer = setTimeout(() => {
      this.addressRetries.delete(timer);
      const still = again.filter((u) => this.addressReads.has(u));
      if (still.length && this.connection.state.kind === 'connected') void this.readAddresses(still);
    }, ADDRESS_RETRY_MS);
    this.addressRetries.add(timer);
  }

  /** A domain's addresses read now (for a prompt that needs them current). */
  async addressesOf(uuid: string): Promise<DomainAddresses> {
    await this.readAddresses([uuid]);
    return this.addresses.get(uuid) ?? { leased: [], heard: [] };
  }

  private scheduleRefresh() {
    clearTimeout(this.debounce);
    this.debounce = setTimeout(() => void this.refresh().catch(() => undefined), REFRESH_DEBOUNCE_MS);
  }

  private async watchEvents(): Promise<void> {
    this.events?.close();
    try {
      const stream = await this.connection.stream(eventsArgv(this.uri), (line) => this.onEventLine(line));
      this.events = stream;
      const code = await stream.done;
      // virsh event exits when libvirtd restarts; reopen while the SSH connection is still up
      if (this.events === stream && !this.disposed && this.connection.state.kind === 'connected') {
        this.log.info(`${this.alias}: event stream ended (exit ${code}); reopening`);
        setTimeout(() => {
          if (this.events === stream && !this.disposed) {
            void this.refresh().catch(() => undefined);
            void this.watchEvents();
          }
        }, 1000);
      }
    } catch (e) {
      this.log.warn(`${this.alias}: cannot watch libvirt events: ${(e as Error).message}`);
    }
  }

  private onEventLine(line: string) {
    const event = parseEventLine(line);
    if (!event) {
      // not an event's continuation (tab-indented): an event whose domain name holds a line break; re-read the list
      if (line.trim() && !line.startsWith('\t')) this.scheduleRefresh();
      return;
    }
    this.log.trace(`${this.alias}: event ${event.type} '${event.domain}' ${event.detail}`);
    if (event.type === 'migration-iteration') {
      this.migrationEmitter.fire(event.domain);
      if (this.migrating.has(event.domain)) return;
      this.migrating.add(event.domain);
    } else if (event.type === 'lifecycle') {
      this.migrating.delete(event.domain);
      const effect = lifecycleEffect(event.detail);
      // a migration's events are few and its states subtle (paused for it on one side): those are listed, as before
      if (
        effect &&
        effect !== 'migrating' &&
        !/Migrated|Post-copy/.test(event.detail) &&
        this.applyLifecycle(event.domain, effect)
      )
        return;
      if (!effect && this.domains?.some((d) => d.name === event.domain)) return; // nothing shown changes
    }
    this.scheduleRefresh();
  }

  /** Run a lifecycle action on a domain (by UUID); rejects with virsh's own words when it refuses. */
  async runAction(action: LifecycleAction, uuid: string): Promise<void> {
    if (action === 'start') await this.refuseIfItsQemuRuns(uuid);
    const result = await this.connection.exec(lifecycleArgv(this.uri, action, uuid), {
      timeoutMs: 120_000,
      logLevel: 'info',
    });
    if (result.code !== 0) throw new LibvirtError(this.alias, virshErrorText(result.stderr, result.code));
    await this.refresh().catch(() => undefined);
  }

  /**
   * Before starting a domain libvirt lists as shut off: a QEMU of its UUID already running here belongs to another
   * libvirt daemon (an in-place upgrade that stopped under its second daemon) or was started by hand; a start would be
   * a second copy on the same disks.
   */
  private async refuseIfItsQemuRuns(uuid: string): Promise<void> {
    const domain = this.findDomain(uuid);
    if (domain?.state !== 'shutoff') return;
    const found = await this.connection.exec(qemuOfUuidArgv(uuid), { timeoutMs: 30_000 });
    const pids = found.stdout.split('\n').filter((line) => /^[1-9][0-9]*$/.test(line));
    if (found.code !== 0)
      this.log.warn(
        `${this.alias}: could not look for a QEMU of ${uuid} before starting it (${found.stderr.trim()}): started without`,
      );
    if (pids.length) throw new Error(qemuRunsText(this.alias, domain.name, pids));
  }

  /** A migration of this domain ended without a lifecycle event (an aborted precopy leaves it running here). */
  migrationEnded(name: string): void {
    if (this.migrating.delete(name)) this.scheduleRefresh();
  }

  /** The other domains here, whose addresses a VM's address list must not claim. */
  domainsOtherThan(uuid: string): Domain[] {
    return (this.domains ?? []).filter((d) => d.uuid !== uuid);
  }

  /** a domain of the host's libvirt, or of a KubeVirt pod on it */
  findDomain(uuid: string): Domain | undefined {
    return this.domains?.find((d) => d.uuid === uuid) ?? this.kubevirt.domains.find((d) => d.uuid === uuid);
  }

  private get disposed(): boolean {
    return this.disposables.isDisposed;
  }

  dispose(): void {
    this.shell?.close();
    clearTimeout(this.debounce);
    clearTimeout(this.reconcileQuiet);
    clearTimeout(this.reconcileLatest);
    clearTimeout(this.libvirtRetry);
    for (const t of this.addressRetries) clearTimeout(t);
    this.events?.close();
    this.disposables.dispose();
  }
}

/** past this many domains not shown yet, the full listing is cheaper than naming each */
const NAME_EACH_LIMIT = 200;

/** The UUIDs of every domain, through the shell (one libvirt call, nothing from outside written to it). */
async function uuidsOn(shell: VirshShell): Promise<string[]> {
  const { texts } = await shell.ask([['list', '--all', '--uuid']]);
  return texts[0]
    .split('\n')
    .map((l) => l.trim())
    .filter(isUuid);
}

/**
 * A name written to the shell as it is: readline and virsh's tokenizer pass it through, and virsh's lookup (by ID,
 * then UUID, then name) cannot take it for an ID (it starts with a letter) or a UUID (fewer than 32 hex digits).
 */
const isPlainName = (name: string) =>
  /^[A-Za-z][A-Za-z0-9._-]{0,199}$/.test(name) && (name.match(/[0-9a-fA-F]/g)?.length ?? 0) < 32;

/**
 * The UUIDs of the plainly named of these domains, by name (a libvirt lookup each, not a listing of every domain),
 * each checked by asking its name back; undefined for the others (named otherwise, gone, or not confirmed).
 */
async function uuidsByPlainName(shell: VirshShell, names: readonly string[]): Promise<(string | undefined)[]> {
  const plain = names.filter(isPlainName);
  if (!plain.length) return names.map(() => undefined);
  const { texts } = await shell.ask(plain.map((n) => ['domuuid', '--domain', n]));
  const said = new Map(plain.map((n, i) => [n, texts[i].trim()]));
  const candidates = [...said.values()].filter(isUuid);
  const confirmed = await namesOf(shell, candidates);
  return names.map((n) => {
    const uuid = said.get(n);
    return uuid && confirmed.get(uuid) === n ? uuid : undefined;
  });
}

/**
 * each domain's statistics asked alone, by name. The answer starts with the header of the exact name asked for;
 * all that follows it is the domain's fields (a name's own lines sit inside that header, so none can add fields)
 */
async function statsOf(
  shell: VirshShell,
  list: readonly { uuid: string; name: string }[],
): Promise<Map<string, DomainStats>> {
  if (!list.length) return new Map();
  const { texts } = await shell.ask(list.map((d) => [...DOMSTATS_WORDS, d.uuid]));
  const stats = new Map<string, DomainStats>();
  list.forEach((d, i) => {
    const header = `Domain: '${d.name}'\n`;
    if (!texts[i].startsWith(header)) return;
    const [own] = domstatsBlocks(`Domain: ''\n${texts[i].slice(header.length)}`);
    if (own) stats.set(d.name, own.stats);
  });
  return stats;
}

/**
 * The names of these domains, exact whatever they hold (each answer is framed by its own nonce); a domain gone since
 * is left out.
 */
async function namesOf(shell: VirshShell, uuids: readonly string[]): Promise<Map<string, string>> {
  if (!uuids.length) return new Map();
  const { texts } = await shell.ask(uuids.map((u) => ['domname', u]));
  const names = new Map<string, string>();
  // `domname` prints the name and a line feed (its error goes to stderr: nothing here)
  uuids.forEach((u, i) => texts[i].endsWith('\n') && texts[i].length > 1 && names.set(u, texts[i].slice(0, -1)));
  return names;
}

/** why a start is refused when a QEMU of the domain already runs on the host, and what to do */
export function qemuRunsText(alias: string, name: string, pids: readonly string[]): string {
  return (
    `${name} is shut off for ${alias}'s libvirt, but a QEMU of its UUID runs there (pid ${pids.join(', ')}): ` +
    'another libvirt daemon holds it (an in-place QEMU upgrade that stopped under its second daemon: its ' +
    'notification gives the way back) or it was started by hand. Starting it would run a second copy on the same ' +
    `disks; see what runs it with \`ps -o pid,args -p ${pids.join(',')}\` on ${alias}.`
  );
}
