#include "core/privdrop.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

int priv_drop(const char *user, char *err, size_t errlen)
{
	struct passwd *pw = getpwnam(user);

	if (pw == NULL) {
		snprintf(err, errlen, "no such user \"%s\"", user);
		return -1;
	}
	if (pw->pw_uid == 0) {
		snprintf(err, errlen, "user \"%s\" is root: nothing would be dropped", user);
		return -1;
	}
	gid_t gid = pw->pw_gid;
	uid_t uid = pw->pw_uid;
	if (setgroups(1, &gid) < 0 || setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0) {
		snprintf(err, errlen, "cannot become \"%s\": %s", user, strerror(errno));
		return -1;
	}
	/* never gain privileges again, not even through exec */
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	if (setuid(0) == 0 || seteuid(0) == 0 || geteuid() != uid || getegid() != gid) {
		snprintf(err, errlen, "privileges of \"%s\" could be regained: refusing to run", user);
		return -1;
	}
	return 0;
}
