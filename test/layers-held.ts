/** Every isolation layer the runtime reports, as it reports it when all of them hold (proot or bwrap, as root). */
export const EVERY_LAYER = {
  uid_switch: true,
  seccomp: true,
  rlimits: true,
  uid_sweep: true,
  pid_namespace: true,
  ipc_namespace: true,
  net_namespace: true,
  egress_filter: true,
  user_mode_stack: "slirp4netns",
  tracer_protected: true,
  protected_hardlinks: true,
};

/** The self-test's whole report then: nothing missing, not degraded. */
export const EVERY_LAYER_REPORT = { ...EVERY_LAYER, degraded: false, missing: [] };
