/*
 * privilege: the capabilities a reader keeps; see privilege.h.  libcap's
 * cap_set_proc() sets the three sets of this thread; threadleak calls
 * this before it starts threads of its own (serve's capture workers),
 * and threads made afterwards inherit the sets.  The bounding set and
 * the ambient set are per thread too: dropped here, for this thread and
 * what it makes.
 */
#include "target/privilege.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <unistd.h>

static const cap_value_t kept[] = { CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH };
#define NKEPT (sizeof(kept) / sizeof(kept[0]))

static bool held(cap_t caps, cap_value_t c)
{
	cap_flag_value_t v = CAP_CLEAR;

	return cap_get_flag(caps, c, CAP_EFFECTIVE, &v) == 0 && v == CAP_SET;
}

static void say_missing(bool ptrace, bool dac, char *buf, size_t len)
{
	uid_t uid = geteuid();

	if (ptrace && dac)
		snprintf(buf, len, "%s", "");
	else if (!ptrace)
		snprintf(buf, len, "no CAP_SYS_PTRACE: only processes of user %u that "
			 "hold no capability it lacks can be read (Yama's ptrace_scope "
			 "permitting); give it CAP_SYS_PTRACE%s", (unsigned)uid,
			 dac ? "" : " and CAP_DAC_READ_SEARCH");
	else
		snprintf(buf, len, "no CAP_DAC_READ_SEARCH: processes of other users than "
			 "%u are refused where their /proc files are theirs alone; give it "
			 "CAP_DAC_READ_SEARCH", (unsigned)uid);
}

int privilege_keep_tracing(char *missing, size_t missing_len, char *err, size_t errlen)
{
	cap_t now = cap_get_proc(), want = cap_init();
	bool have[NKEPT], setpcap = false;
	int rc = 0;

	missing[0] = '\0';
	if (!now || !want) {
		snprintf(err, errlen, "cannot read its capabilities: %s", strerror(errno));
		rc = -errno;
		goto out;
	}
	setpcap = held(now, CAP_SETPCAP);
	for (size_t i = 0; i < NKEPT; i++) {
		have[i] = held(now, kept[i]);
		if (have[i] && (cap_set_flag(want, CAP_EFFECTIVE, 1, &kept[i], CAP_SET) < 0 ||
				cap_set_flag(want, CAP_PERMITTED, 1, &kept[i], CAP_SET) < 0)) {
			rc = -errno;
			snprintf(err, errlen, "cannot keep its capabilities: %s", strerror(errno));
			goto out;
		}
	}
	/* Bounding set first: dropping from it needs CAP_SETPCAP, which
	 * the sets below then drop.  Where it is not held (a user given
	 * the two alone), its bound cannot be lowered: no_new_privs keeps
	 * an exec from rising to it. */
	for (cap_value_t c = 0; setpcap && cap_valid(c); c++) {
		if (c == kept[0] || c == kept[1])
			continue;
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL) {
			rc = -errno;
			snprintf(err, errlen, "cannot drop capability %d from its bounding set: %s",
				 (int)c, strerror(errno));
			goto out;
		}
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL) {
		rc = -errno;
		snprintf(err, errlen, "cannot clear its ambient capabilities: %s", strerror(errno));
		goto out;
	}
	if (cap_set_proc(want) < 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot drop its capabilities: %s", strerror(errno));
		goto out;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot set no_new_privs: %s", strerror(errno));
		goto out;
	}
	say_missing(have[0], have[1], missing, missing_len);
out:
	cap_free(now);
	cap_free(want);
	return rc;
}
