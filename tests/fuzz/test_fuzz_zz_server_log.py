"""Runs last (file name order): the server's log since the suite started holds no crash.

Every example already checks that the connection and PostgREST still answer; a backend
that died and was restarted between two checks leaves its trace only here.
"""

import fuzzsupport


def test_no_backend_crashed(env):
    if env.log_path is None:
        raise AssertionError(
            "the server log was not found (pg_current_logfile(), DATA_DIR/postgres.log); "
            "set FUZZ_SERVER_LOG to its path")
    text = fuzzsupport.read_server_log(env.log_path, env.log_offset)
    crashes = [line for line in text.splitlines() if any(marker in line for marker in fuzzsupport.CRASH_MARKERS)]
    if crashes:
        library = fuzzsupport.library_stamp()
        replaced = (f"\nagno_learnings.so was replaced during the run ({env.library} -> {library}): backends"
                    " die when their library is overwritten, so these crashes may be the reinstall's, not an"
                    " input's; run again" if library != env.library else "")
        raise AssertionError(f"{len(crashes)} crash lines in {env.log_path} since the suite started:\n"
                             + "\n".join(crashes[:20]) + replaced)
