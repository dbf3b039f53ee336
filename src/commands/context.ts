import type { HostsTreeProvider } from '../views/hostsTree';
import type { MonitorPanels } from '../views/monitorPanel';
import type { TrafficPanels } from '../views/trafficPanel';
import type { FerryContext } from '../vscode/context';
import type { UserInput } from '../vscode/userInput';

/** The views a command shows its work in. */
export interface FerryViews {
  tree: HostsTreeProvider;
  /** migration monitors: a run Ferry starts opens one, leaving the focus where it is */
  panels: MonitorPanels;
  traffic: TrafficPanels;
}

/** What a command gets for one run (Container Tools' IActionContext): Ferry's services and who answers its questions. */
export interface CommandContext extends FerryContext, FerryViews {
  /** the command's id */
  command: string;
  /** the window for a person; a ScriptedInput when a test or another tool drives the command */
  ui: UserInput;
}
