/**
 * The settings services read when they act: a plain object the composition root keeps current when the user changes
 * them (ferry.sshConfigFile, ferry.libvirt.uri), so no service calls up into the editor's configuration.
 */
export interface ServiceSettings {
  sshConfigPath: string;
  libvirtUri: string;
}
