/*
 * cgroup: a path walked component by component, each compared with the
 * shapes cgroup.h lists; the deepest container, pod and unit win.  A
 * file's lines are checked whole before any path is read (a line that is
 * not "N:controllers:/path", a hierarchy twice: nothing), then its paths
 * are tried in cgroup.h's order.  Everything is copied into the fixed
 * fields of struct cgroup_info: nothing longer than they hold is kept.
 */
#include "model/cgroup.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const char *const runtimes[] = { "docker", "containerd", "cri-o", "podman", "kubernetes" };

static bool is_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static bool id_ok(const char *s, size_t n)
{
	return n == CONTAINER_ID_LEN && is_hex(s, n);
}

/* s[0..n) starts with / ends with the literal */
static bool starts(const char *s, size_t n, const char *p)
{
	size_t k = strlen(p);

	return n >= k && memcmp(s, p, k) == 0;
}

static bool ends(const char *s, size_t n, const char *p)
{
	size_t k = strlen(p);

	return n >= k && memcmp(s + n - k, p, k) == 0;
}

/* A UUID (8-4-4-4-12 lowercase hex), or a static pod's 32 hex digits;
 * with '_' for '-' when under is set (a systemd slice's name). */
static bool uid_ok(const char *s, size_t n, bool under)
{
	if (n == 32)
		return is_hex(s, n);
	if (n != 36)
		return false;
	for (size_t i = 0; i < n; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? s[i] != (under ? '_' : '-') : !is_hex(s + i, 1))
			return false;
	}
	return true;
}

static void set_uid(struct cgroup_info *info, const char *s, size_t n)
{
	memcpy(info->pod_uid, s, n);
	info->pod_uid[n] = '\0';
	for (size_t i = 0; i < n; i++)
		if (info->pod_uid[i] == '_')
			info->pod_uid[i] = '-';
}

static bool unit_ok(const char *s, size_t n)
{
	static const char *const types[] = { ".service", ".scope", ".socket", ".mount", ".swap" };
	bool typed = false;

	if (n == 0 || n > UNIT_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      strchr(":-_.\\@", c)))
			return false;
	}
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		typed |= ends(s, n, types[i]) && n > strlen(types[i]);
	return typed;
}

/* A kubepods slice naming a pod: kubepods[-QOS]-pod<uid>.slice. */
static bool pod_slice(const char *s, size_t n, struct cgroup_info *info)
{
	const char *p = NULL;

	if (!starts(s, n, "kubepods") || !ends(s, n, ".slice"))
		return false;
	n -= strlen(".slice");
	for (size_t i = 0; i + 4 <= n; i++)
		if (memcmp(s + i, "-pod", 4) == 0)
			p = s + i + 4;
	if (!p || !uid_ok(p, (size_t)(s + n - p), true))
		return false;
	set_uid(info, p, (size_t)(s + n - p));
	return true;
}

static void set_container(struct cgroup_info *info, const char *runtime, const char *id)
{
	snprintf(info->runtime, sizeof(info->runtime), "%s", runtime);
	memcpy(info->id, id, CONTAINER_ID_LEN);
	info->id[CONTAINER_ID_LEN] = '\0';
}

/* The container a component names, with its prefix and optional .scope. */
static bool prefixed(const char *s, size_t n, const char *prefix, bool scope_only,
		     const char *runtime, struct cgroup_info *info)
{
	size_t k = strlen(prefix);

	if (!starts(s, n, prefix))
		return false;
	if (ends(s, n, ".scope"))
		n -= strlen(".scope");
	else if (scope_only)
		return false;
	if (!id_ok(s + k, n - k))
		return false;
	set_container(info, runtime, s + k);
	return true;
}

static void component(const char *s, size_t n, const char *prev, size_t prevn,
		      bool kubepods, struct cgroup_info *info)
{
	const char *colon = memchr(s, ':', n);

	if (prefixed(s, n, "docker-", true, "docker", info) ||
	    prefixed(s, n, "cri-containerd-", true, "containerd", info) ||
	    prefixed(s, n, "crio-", false, "cri-o", info) ||
	    prefixed(s, n, "libpod-", false, "podman", info))
		return;
	if (id_ok(s, n)) {
		if (prevn == 6 && memcmp(prev, "docker", 6) == 0)
			set_container(info, "docker", s);
		else if (kubepods)
			set_container(info, "kubernetes", s);
		return;
	}
	/* runc's systemd form, SLICE:PREFIX:ID, as some hierarchies show it */
	if (colon && n > CONTAINER_ID_LEN + 1 &&
	    s[n - CONTAINER_ID_LEN - 1] == ':' && id_ok(s + n - CONTAINER_ID_LEN, CONTAINER_ID_LEN)) {
		size_t slice = (size_t)(colon - s);
		const char *mid = colon + 1;
		size_t midn = (size_t)(s + n - CONTAINER_ID_LEN - 1 - mid);
		const char *runtime = midn == 14 && memcmp(mid, "cri-containerd", 14) == 0 ? "containerd" :
				      midn == 4 && memcmp(mid, "crio", 4) == 0 ? "cri-o" :
				      midn == 6 && memcmp(mid, "docker", 6) == 0 ? "docker" : NULL;
		if (runtime) {
			set_container(info, runtime, s + n - CONTAINER_ID_LEN);
			pod_slice(s, slice, info);
			return;
		}
	}
	if (pod_slice(s, n, info))
		return;
	if (kubepods && starts(s, n, "pod") && uid_ok(s + 3, n - 3, false)) {
		set_uid(info, s + 3, n - 3);
		return;
	}
	if (unit_ok(s, n)) {
		memcpy(info->unit, s, n);
		info->unit[n] = '\0';
	}
}

static bool path_ok(const char *s, size_t n)
{
	if (n == 0 || n > CGROUP_PATH_MAX || s[0] != '/')
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f)
			return false;
	return true;
}

static int parse_path(const char *path, size_t len, struct cgroup_info *info)
{
	const char *prev = "", *p = path, *end = path + len;
	size_t prevn = 0;
	bool kubepods = false;

	memset(info, 0, sizeof(*info));
	if (!path_ok(path, len))
		return -EINVAL;
	memcpy(info->path, path, len);
	info->path[len] = '\0';
	while (p < end) {
		const char *q = memchr(p, '/', (size_t)(end - p));
		size_t n = q ? (size_t)(q - p) : (size_t)(end - p);
		if (n) {
			component(p, n, prev, prevn, kubepods, info);
			kubepods |= starts(p, n, "kubepods");
			prev = p;
			prevn = n;
		}
		p += n + 1;
	}
	if (info->runtime[0])
		info->unit[0] = '\0';
	return 0;
}

int cgroup_parse_path(const char *path, struct cgroup_info *info)
{
	return parse_path(path, strnlen(path, CGROUP_PATH_MAX + 1), info);
}

struct line {
	const char *path;
	size_t len;
	const char *ctl;
	size_t ctln;
	long id;
};

/* Checks every line; the lines in *v (n of them).  -EINVAL. */
static int split_lines(const char *text, size_t len, struct line *v, size_t *nv)
{
	const char *p = text, *end = text + len;
	size_t n = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = nl ? nl : end;
		const char *c1 = memchr(p, ':', (size_t)(e - p));
		const char *c2 = c1 ? memchr(c1 + 1, ':', (size_t)(e - c1 - 1)) : NULL;
		long id = 0;

		if (e == p && !nl)
			break;
		if (!c2 || c1 == p || c1 - p > 9 || n == CGROUP_LINES_MAX)
			return -EINVAL;
		for (const char *d = p; d < c1; d++) {
			if (*d < '0' || *d > '9')
				return -EINVAL;
			id = id * 10 + (*d - '0');
		}
		for (const char *d = c1 + 1; d < c2; d++)
			if (!((*d >= 'a' && *d <= 'z') || (*d >= 'A' && *d <= 'Z') ||
			      (*d >= '0' && *d <= '9') || strchr("_,=.-", *d)))
				return -EINVAL;
		v[n] = (struct line){ c2 + 1, (size_t)(e - c2 - 1), c1 + 1, (size_t)(c2 - c1 - 1), id };
		if (!path_ok(v[n].path, v[n].len))
			return -EINVAL;
		for (size_t i = 0; i < n; i++)
			if (v[i].id == id || (v[i].ctln && v[i].ctln == v[n].ctln &&
					      memcmp(v[i].ctl, v[n].ctl, v[n].ctln) == 0))
				return -EINVAL;	/* a line forged by a name */
		n++;
		p = e + 1;
	}
	*nv = n;
	return 0;
}

static int rank(const struct line *l)
{
	if (l->id == 0 && l->ctln == 0)
		return 0;
	if (l->ctln == 12 && memcmp(l->ctl, "name=systemd", 12) == 0)
		return 1;
	return 2;
}

int cgroup_parse(const char *text, size_t len, struct cgroup_info *info)
{
	struct line v[CGROUP_LINES_MAX];
	struct cgroup_info c;
	size_t n, order[CGROUP_LINES_MAX], k = 0;
	int best = 0;	/* 3 container, 2 pod, 1 unit */

	memset(info, 0, sizeof(*info));
	if (len > CGROUP_TEXT_MAX || split_lines(text, len, v, &n) < 0)
		return -EINVAL;
	for (int r = 0; r <= 2; r++)
		for (size_t i = 0; i < n; i++)
			if (rank(&v[i]) == r)
				order[k++] = i;
	for (size_t i = 0; i < n; i++) {
		const struct line *l = &v[order[i]];
		if (parse_path(l->path, l->len, &c) < 0)
			return -EINVAL;
		int score = c.runtime[0] ? 3 : c.pod_uid[0] ? 2 : c.unit[0] ? 1 : 0;
		if (score > best || (!info->path[0] && strcmp(c.path, "/") != 0)) {
			if (score > best)
				best = score;
			*info = c;
		}
	}
	return 0;
}

bool cgroup_runtime_valid(const char *runtime)
{
	for (size_t i = 0; i < sizeof(runtimes) / sizeof(runtimes[0]); i++)
		if (strcmp(runtime, runtimes[i]) == 0)
			return true;
	return false;
}

bool cgroup_id_valid(const char *id)
{
	return id_ok(id, strnlen(id, CONTAINER_ID_LEN + 1));
}

bool cgroup_pod_uid_valid(const char *uid)
{
	return uid_ok(uid, strnlen(uid, POD_UID_MAX + 1), false);
}

bool cgroup_unit_valid(const char *unit)
{
	return unit_ok(unit, strnlen(unit, UNIT_NAME_MAX + 1));
}

bool cgroup_path_valid(const char *path)
{
	return path_ok(path, strnlen(path, CGROUP_PATH_MAX + 1));
}
