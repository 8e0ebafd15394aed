/// Shims for SQLite macros Swift cannot import (SQLITE_TRANSIENT is a casted pointer).
#ifndef TF_SQLITE_H
#define TF_SQLITE_H
#include <sys/types.h>
#include <sqlite3.h>

/// sqlite3_bind_text with SQLITE_TRANSIENT (SQLite copies the bytes).
int tf_sqlite_bind_text(sqlite3_stmt *stmt, int index, const char *text, int length);
#endif
