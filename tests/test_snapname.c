/*
 * test_snapname.c - the snapshot directory and file names: the default
 * directory from the environment, --snapshot as a file or a directory,
 * timestamped names.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "snapname.h"

Test(snapname, default_directory_from_the_environment)
{
	char dir[256], file[256];

	setenv("HOME", "/home/u", 1);
	unsetenv("XDG_STATE_HOME");
	cr_assert_eq(
		snapname_resolve(NULL, dir, sizeof(dir), file, sizeof(file)),
		1);
	cr_assert_str_eq(dir, "/home/u/.local/state/pktstat");
	setenv("XDG_STATE_HOME", "/var/st", 1);
	cr_assert_eq(snapname_resolve("", dir, sizeof(dir), file, sizeof(file)),
		     1);
	cr_assert_str_eq(dir, "/var/st/pktstat");
	/* a relative one is ignored, as the XDG specification says */
	setenv("XDG_STATE_HOME", "rel", 1);
	snapname_resolve(NULL, dir, sizeof(dir), file, sizeof(file));
	cr_assert_str_eq(dir, "/home/u/.local/state/pktstat");
	unsetenv("XDG_STATE_HOME");
	unsetenv("HOME");
	snapname_resolve(NULL, dir, sizeof(dir), file, sizeof(file));
	cr_assert_str_eq(dir, "./pktstat");
}

Test(snapname, given_file_or_directory)
{
	char dir[256], file[256], tmp[] = "/tmp/snapname.XXXXXX";

	cr_assert_eq(snapname_resolve("/x/s.json", dir, sizeof(dir), file,
				      sizeof(file)),
		     0);
	cr_assert_str_eq(file, "/x/s.json");
	cr_assert_str_eq(dir, "");
	cr_assert_eq(snapname_resolve("/x/snaps//", dir, sizeof(dir), file,
				      sizeof(file)),
		     1);
	cr_assert_str_eq(dir, "/x/snaps");
	cr_assert_not_null(mkdtemp(tmp));
	cr_assert_eq(
		snapname_resolve(tmp, dir, sizeof(dir), file, sizeof(file)), 1);
	cr_assert_str_eq(dir, tmp);
	rmdir(tmp);
	cr_assert_eq(snapname_resolve("/x/s.json", dir, 4, file, 4),
		     -ENAMETOOLONG);
}

Test(snapname, timestamped_in_local_time)
{
	char buf[256];
	struct tm tm = { .tm_year = 126,
			 .tm_mon = 11,
			 .tm_mday = 6,
			 .tm_hour = 21,
			 .tm_min = 5,
			 .tm_sec = 9,
			 .tm_isdst = -1 };
	time_t t;

	setenv("TZ", "UTC", 1);
	tzset();
	t = timegm(&tm);
	snapname_make("/d", (uint64_t)t * 1000000000ull + 999, buf,
		      sizeof(buf));
	cr_assert_str_eq(buf, "/d/pktstat-20261206-210509.json");
	setenv("TZ", "Europe/Berlin", 1);
	tzset();
	snapname_make("/d", (uint64_t)t * 1000000000ull, buf, sizeof(buf));
	cr_assert_str_eq(buf, "/d/pktstat-20261206-220509.json");
}
