/*
 * cgroup: where a process runs, from the text of its /proc/PID/cgroup:
 * the container (its runtime and id), else the systemd unit, and a
 * Kubernetes pod's UID where the path holds one.  Pure parsing, no /proc
 * (target/proc.h proc_read_cgroup reads the file): the snapshot reader
 * checks what a file says with the same rules.
 *
 * The path read is the cgroup v2 line's ("0::/path"); on a machine of v1
 * hierarchies (or both), the first of v2, name=systemd and the other v1
 * hierarchies in the file's order whose path says a container, else a
 * pod, else a unit; cgroup is that path, else the first that is not "/".
 * In a path the deepest component of a container's shape is taken
 * (docker in docker: the inner one):
 *
 *   docker      /docker/<64 hex>, docker-<64 hex>.scope
 *   containerd  cri-containerd-<64 hex>.scope, ...slice:cri-containerd:<64 hex>
 *   cri-o       crio-<64 hex>.scope, crio-<64 hex> (crio-conmon-: its monitor, a unit)
 *   podman      libpod-<64 hex>.scope, libpod-<64 hex> (libpod-conmon-: a unit)
 *   kubernetes  <64 hex> under /kubepods/: a pod's container, runtime not said
 *
 * A pod: kubepods-...-pod<uid, '_' for '-'>.slice, or /kubepods/.../pod<uid>
 * (a UUID, or a static pod's 32 hex digits).  A unit: the deepest
 * component that is a unit name systemd allows (letters, digits, ":-_.\\@",
 * up to 255 bytes) ending .service, .scope, .socket, .mount or .swap:
 * /system.slice/nginx.service, .../user@1000.service/app.slice/x.service,
 * a session's session-3.scope.  Only when there is no container.
 *
 * Nothing in the file is trusted: at most CGROUP_LINES_MAX lines of a
 * text of at most CGROUP_TEXT_MAX bytes, a path of at most
 * CGROUP_PATH_MAX bytes without control bytes; a file with a line not of
 * the form "N:controllers:/path", or two lines of one hierarchy (a
 * cgroup name with a newline in it can forge a line), says nothing.
 */
#ifndef THREADLEAK_CGROUP_H
#define THREADLEAK_CGROUP_H

#include <stdbool.h>
#include <stddef.h>

#define CGROUP_TEXT_MAX 16384
#define CGROUP_LINES_MAX 64
#define CGROUP_PATH_MAX 1024
#define CONTAINER_ID_LEN 64
#define CONTAINER_SHORT_ID 12	/* as `docker ps` shows it */
#define POD_UID_MAX 36
#define UNIT_NAME_MAX 255

struct cgroup_info {
	char path[CGROUP_PATH_MAX + 1];		/* "": none */
	char runtime[16];			/* "docker"...; "": no container */
	char id[CONTAINER_ID_LEN + 1];		/* lowercase hex */
	char pod_uid[POD_UID_MAX + 1];		/* "": none */
	char unit[UNIT_NAME_MAX + 1];		/* "": none */
};

/* What a cgroup path says (the rest of info zeroed; path kept if it
 * fits).  0, or -EINVAL for what is not a path of at most
 * CGROUP_PATH_MAX bytes without control bytes. */
int cgroup_parse_path(const char *path, struct cgroup_info *info);
/* What the text of a /proc/PID/cgroup says.  0 (maybe nothing: every
 * field ""), or -EINVAL for a text not to be trusted. */
int cgroup_parse(const char *text, size_t len, struct cgroup_info *info);

/* The checks the parser makes, for values read back from a file. */
bool cgroup_runtime_valid(const char *runtime);
bool cgroup_id_valid(const char *id);
bool cgroup_pod_uid_valid(const char *uid);
bool cgroup_unit_valid(const char *unit);
bool cgroup_path_valid(const char *path);

#endif
