/*
 * Unit tests for src/model/cgroup.c: what a /proc/PID/cgroup says of where
 * a process runs, on paths as docker, containerd, CRI-O, podman, the
 * kubelet and systemd make them (cgroup v2, v1, both), and what is refused
 * (forged lines, ids that are not hex, names systemd does not allow).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "model/cgroup.h"

#define ID "3f2a9c1b7e6d5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b1a09"
#define UID "8a6c1d2e-3f40-4b5c-9d6e-7f8091a2b3c4"
#define UIDU "8a6c1d2e_3f40_4b5c_9d6e_7f8091a2b3c4"
#define HASH "6cfd7e3c2f2f3b1c0a4e0dd5a0c2a9c5"

struct row {
	const char *path;
	const char *runtime, *id, *pod, *unit;
};

static const struct row rows[] = {
	/* docker: cgroupfs driver, systemd driver, docker in docker */
	{ "/docker/" ID, "docker", ID, "", "" },
	{ "/system.slice/docker-" ID ".scope", "docker", ID, "", "" },
	{ "/docker/0123456789012345678901234567890123456789012345678901234567890123/docker/" ID,
	  "docker", ID, "", "" },
	{ "/docker/" ID "/system.slice/nginx.service", "docker", ID, "", "" },
	/* containerd under the kubelet: systemd driver, cgroupfs driver */
	{ "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UIDU
	  ".slice/cri-containerd-" ID ".scope", "containerd", ID, UID, "" },
	{ "/kubepods.slice/kubepods-pod" UIDU ".slice/cri-containerd-" ID ".scope",
	  "containerd", ID, UID, "" },
	{ "/kubepods/besteffort/pod" UID "/" ID, "kubernetes", ID, UID, "" },
	{ "/kubepods/pod" UID "/" ID, "kubernetes", ID, UID, "" },
	{ "/kubepods/burstable/pod" HASH "/" ID, "kubernetes", ID, HASH, "" },
	{ "/kubepods-besteffort-pod" UIDU ".slice:cri-containerd:" ID, "containerd", ID, UID, "" },
	{ "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" UIDU ".slice",
	  "", "", UID, "" },
	/* CRI-O: the container, and its monitor (a unit, not a container) */
	{ "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" UIDU
	  ".slice/crio-" ID ".scope", "cri-o", ID, UID, "" },
	{ "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" UIDU
	  ".slice/crio-conmon-" ID ".scope", "", "", UID, "crio-conmon-" ID ".scope" },
	{ "/kubepods/besteffort/pod" UID "/crio-" ID, "cri-o", ID, UID, "" },
	/* podman: systemd (rootful, rootless), cgroupfs; conmon */
	{ "/machine.slice/libpod-" ID ".scope", "podman", ID, "", "" },
	{ "/machine.slice/libpod-" ID ".scope/container", "podman", ID, "", "" },
	{ "/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" ID ".scope",
	  "podman", ID, "", "" },
	{ "/libpod_parent/libpod-" ID, "podman", ID, "", "" },
	{ "/machine.slice/libpod-conmon-" ID ".scope", "", "", "", "libpod-conmon-" ID ".scope" },
	/* systemd units */
	{ "/system.slice/nginx.service", "", "", "", "nginx.service" },
	{ "/system.slice/system-getty.slice/getty@tty1.service", "", "", "", "getty@tty1.service" },
	{ "/user.slice/user-1000.slice/user@1000.service/app.slice/pipewire.service",
	  "", "", "", "pipewire.service" },
	{ "/user.slice/user-1000.slice/user@1000.service/init.scope", "", "", "", "init.scope" },
	{ "/user.slice/user-1000.slice/session-3.scope", "", "", "", "session-3.scope" },
	{ "/system.slice/systemd-fsck@dev-disk-by\\x2duuid-1234.service", "", "", "",
	  "systemd-fsck@dev-disk-by\\x2duuid-1234.service" },
	{ "/init.scope", "", "", "", "init.scope" },
	/* nothing */
	{ "/", "", "", "", "" },
	{ "/user.slice", "", "", "", "" },
	{ "/system.slice/.service", "", "", "", "" },
	{ "/process_api/c8288f9f01c092095e5a651e1c7aa7c3", "", "", "", "" },
	/* not hex, not 64 digits, upper case, not a UUID */
	{ "/docker/3F2A9C1B7E6D5A4F3E2D1C0B9A8F7E6D5C4B3A2F1E0D9C8B7A6F5E4D3C2B1A09", "", "", "", "" },
	{ "/system.slice/docker-" ID "0.scope", "", "", "", "docker-" ID "0.scope" },
	{ "/system.slice/docker-zz" ID ".scope", "", "", "", "docker-zz" ID ".scope" },
	{ "/" ID, "", "", "", "" },
	{ "/kubepods/besteffort/pod8a6c1d2e-3f40-4b5c-9d6e/" ID, "kubernetes", ID, "", "" },
	{ "/kubepods.slice/kubepods-pod" UID ".slice", "", "", "", "" },
	{ "/system.slice/ngi nx.service", "", "", "", "" },
	{ "/system.slice/nginx.slice", "", "", "", "" },
};

static void test_paths(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];
		struct cgroup_info c;
		if (cgroup_parse_path(r->path, &c) != 0)
			fail_msg("%s: refused", r->path);
		if (strcmp(c.runtime, r->runtime) || strcmp(c.id, r->id) ||
		    strcmp(c.pod_uid, r->pod) || strcmp(c.unit, r->unit) || strcmp(c.path, r->path))
			fail_msg("%s:\n got runtime '%s' id '%s' pod '%s' unit '%s'\n"
				 "want runtime '%s' id '%s' pod '%s' unit '%s'", r->path, c.runtime,
				 c.id, c.pod_uid, c.unit, r->runtime, r->id, r->pod, r->unit);
	}
}

static void parse(const char *text, int want_rc, const char *path, const char *runtime,
		  const char *unit)
{
	struct cgroup_info c;
	int rc = cgroup_parse(text, strlen(text), &c);

	if (rc != want_rc)
		fail_msg("%s: rc %d, want %d", text, rc, want_rc);
	if (strcmp(c.path, path) || strcmp(c.runtime, runtime) || strcmp(c.unit, unit))
		fail_msg("%s:\n got path '%s' runtime '%s' unit '%s'\n want '%s' '%s' '%s'", text,
			 c.path, c.runtime, c.unit, path, runtime, unit);
}

static void test_files(void **state)
{
	(void)state;
	/* cgroup v2 */
	parse("0::/system.slice/docker-" ID ".scope\n", 0, "/system.slice/docker-" ID ".scope",
	      "docker", "");
	parse("0::/system.slice/nginx.service\n", 0, "/system.slice/nginx.service", "",
	      "nginx.service");
	parse("0::/\n", 0, "", "", "");
	parse("", 0, "", "", "");
	/* v1 and hybrid: a container in any hierarchy wins over a unit */
	parse("12:pids:/docker/" ID "\n11:memory:/docker/" ID "\n1:name=systemd:/docker/" ID
	      "\n0::/system.slice/containerd.service\n", 0, "/docker/" ID, "docker", "");
	parse("9:name=systemd:/system.slice/cron.service\n4:memory:/system.slice/cron.service\n"
	      "0::/system.slice/cron.service\n", 0, "/system.slice/cron.service", "", "cron.service");
	parse("9:name=systemd:/\n4:memory:/process_api/c8288f9f01c092095e5a651e1c7aa7c3\n0::/\n",
	      0, "/process_api/c8288f9f01c092095e5a651e1c7aa7c3", "", "");
	parse("9:name=systemd:/user.slice/user-1000.slice/session-2.scope\n"
	      "4:cpu,cpuacct:/user.slice\n", 0, "/user.slice/user-1000.slice/session-2.scope", "",
	      "session-2.scope");
	/* no final newline */
	parse("0::/docker/" ID, 0, "/docker/" ID, "docker", "");
	/* a line forged by a cgroup name with a newline: refused whole */
	parse("0::/user.slice/x\n0::/docker/" ID "\n", -EINVAL, "", "", "");
	parse("9:name=systemd:/x\n9:name=systemd:/docker/" ID "\n", -EINVAL, "", "", "");
	parse("9:name=systemd:/x\n10:name=systemd:/docker/" ID "\n", -EINVAL, "", "", "");
	parse("0::/x\nnonsense\n", -EINVAL, "", "", "");
	parse("0::relative\n", -EINVAL, "", "", "");
	parse("0::/a\n\n1:cpu:/b\n", -EINVAL, "", "", "");
	parse("0::/a\x1b[2J\n", -EINVAL, "", "", "");
	parse("x::/a\n", -EINVAL, "", "", "");
	parse("1234567890::/a\n", -EINVAL, "", "", "");
}

static void test_bounds(void **state)
{
	static char text[CGROUP_TEXT_MAX * 2], path[CGROUP_PATH_MAX + 8];
	struct cgroup_info c;
	size_t n = 0;

	(void)state;
	/* a path over CGROUP_PATH_MAX: refused */
	path[0] = '/';
	memset(path + 1, 'a', CGROUP_PATH_MAX);
	path[CGROUP_PATH_MAX + 1] = '\0';
	assert_int_equal(cgroup_parse_path(path, &c), -EINVAL);
	path[CGROUP_PATH_MAX] = '\0';
	assert_int_equal(cgroup_parse_path(path, &c), 0);
	assert_string_equal(c.path, path);
	/* more lines than CGROUP_LINES_MAX */
	for (int i = 1; i <= CGROUP_LINES_MAX + 1; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "%d:c%d:/\n", i, i);
	assert_int_equal(cgroup_parse(text, n, &c), -EINVAL);
	/* a text over CGROUP_TEXT_MAX */
	memset(text, '\n', CGROUP_TEXT_MAX + 1);
	assert_int_equal(cgroup_parse(text, CGROUP_TEXT_MAX + 1, &c), -EINVAL);
	/* a unit name over 255 bytes */
	memset(path, 'u', 300);
	memcpy(path, "/", 1);
	memcpy(path + 290, ".service", 9);
	assert_int_equal(cgroup_parse_path(path, &c), 0);
	assert_string_equal(c.unit, "");
}

static void test_checks(void **state)
{
	(void)state;
	assert_true(cgroup_runtime_valid("docker"));
	assert_true(cgroup_runtime_valid("cri-o"));
	assert_false(cgroup_runtime_valid("lxc"));
	assert_true(cgroup_id_valid(ID));
	assert_false(cgroup_id_valid(ID "0"));
	assert_false(cgroup_id_valid("3f2a9c1b7e6d"));
	assert_true(cgroup_pod_uid_valid(UID));
	assert_true(cgroup_pod_uid_valid(HASH));
	assert_false(cgroup_pod_uid_valid(UIDU));
	assert_true(cgroup_unit_valid("nginx.service"));
	assert_false(cgroup_unit_valid("nginx"));
	assert_false(cgroup_unit_valid("a b.service"));
	assert_true(cgroup_path_valid("/a/b"));
	assert_false(cgroup_path_valid("a/b"));
	assert_false(cgroup_path_valid("/a\nb"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_checks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
