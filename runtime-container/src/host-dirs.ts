/**
 * Host directories every sandbox sees (read-only under bwrap, as-is under proot): the system, never thread data.
 * Storage configuration refuses to put the runtime's state inside them, where every sandbox could see it.
 */
export const SYSTEM_DIRS = ["/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32", "/etc", "/opt"];
