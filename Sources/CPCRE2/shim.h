#ifndef SOCKBENCH_CPCRE2_SHIM_H
#define SOCKBENCH_CPCRE2_SHIM_H

// PCRE2 (8-bit code units), as the one Swift type that matches patterns (BoundedRegex) sees it.
// pcre2.h names its functions through token-pasting macros (pcre2_compile is pcre2_compile_8),
// which Swift cannot import, so the calls BoundedRegex makes are wrapped here under CPCRE2_ names.
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

typedef pcre2_code_8 CPCRE2_code;
typedef pcre2_match_data_8 CPCRE2_match_data;
typedef pcre2_match_context_8 CPCRE2_match_context;

/// Compiles a pattern of `length` bytes as UTF-8 (PCRE2_UTF) that matches subjects which need
/// not be valid UTF-8 (PCRE2_MATCH_INVALID_UTF: a peer's bytes are whatever it sent). NULL on
/// error, with the error code and the offset in the pattern where it was found.
static inline CPCRE2_code *CPCRE2_compile(const unsigned char *pattern, size_t length, int *error, size_t *offset) {
    PCRE2_SIZE where = 0;
    pcre2_code_8 *code = pcre2_compile_8(pattern, length, PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, error, &where, NULL);
    *offset = where;
    return code;
}

static inline void CPCRE2_code_free(CPCRE2_code *code) { pcre2_code_free_8(code); }

/// PCRE2's own words for an error code, into `buffer`; the length written, or a negative error.
static inline int CPCRE2_error_message(int error, unsigned char *buffer, size_t size) {
    return pcre2_get_error_message_8(error, buffer, size);
}

/// A match context whose matches give up after `match_limit` backtracking steps, `depth_limit`
/// nested backtracking points and `heap_limit_kib` KiB of backtracking memory.
static inline CPCRE2_match_context *CPCRE2_match_context_create(uint32_t match_limit, uint32_t depth_limit, uint32_t heap_limit_kib) {
    pcre2_match_context_8 *context = pcre2_match_context_create_8(NULL);
    if (context == NULL) return NULL;
    pcre2_set_match_limit_8(context, match_limit);
    pcre2_set_depth_limit_8(context, depth_limit);
    pcre2_set_heap_limit_8(context, heap_limit_kib);
    return context;
}

static inline void CPCRE2_match_context_free(CPCRE2_match_context *context) { pcre2_match_context_free_8(context); }

/// Match data sized for the pattern's capture groups. Since PCRE2 10.41 it also keeps the
/// backtracking frames between matches, so matching again allocates nothing.
static inline CPCRE2_match_data *CPCRE2_match_data_create(const CPCRE2_code *code) {
    return pcre2_match_data_create_from_pattern_8(code, NULL);
}

static inline void CPCRE2_match_data_free(CPCRE2_match_data *data) { pcre2_match_data_free_8(data); }

/// Matches `length` bytes (no terminating NUL needed); the number of captured pairs plus one
/// on a match, PCRE2_ERROR_NOMATCH, or another negative error (the limits among them).
static inline int CPCRE2_match(const CPCRE2_code *code, const unsigned char *subject, size_t length,
                               CPCRE2_match_data *data, CPCRE2_match_context *context) {
    return pcre2_match_8(code, subject, length, 0, 0, data, context);
}

/// Where the whole match ends, in bytes from the start of the subject (after a match).
static inline size_t CPCRE2_match_end(CPCRE2_match_data *data) { return pcre2_get_ovector_pointer_8(data)[1]; }

/// Where the whole match starts (after a match).
static inline size_t CPCRE2_match_start(CPCRE2_match_data *data) { return pcre2_get_ovector_pointer_8(data)[0]; }

/// Compiles the pattern to machine code for complete and hard-partial matching (PCRE2's JIT);
/// 0 on success. Without it (JIT not built in), matching falls back to the interpreter.
static inline int CPCRE2_jit_compile(CPCRE2_code *code) {
    return pcre2_jit_compile_8(code, PCRE2_JIT_COMPLETE | PCRE2_JIT_PARTIAL_HARD);
}

typedef pcre2_jit_stack_8 CPCRE2_jit_stack;

/// A JIT stack of `start` growing to at most `maximum` bytes, used by matches under `context`.
static inline CPCRE2_jit_stack *CPCRE2_jit_stack_assign(CPCRE2_match_context *context, size_t start, size_t maximum) {
    pcre2_jit_stack_8 *stack = pcre2_jit_stack_create_8(start, maximum, NULL);
    if (stack != NULL) pcre2_jit_stack_assign_8(context, NULL, stack);
    return stack;
}

static inline void CPCRE2_jit_stack_free(CPCRE2_jit_stack *stack) { pcre2_jit_stack_free_8(stack); }

/// Like CPCRE2_match, with PCRE2_PARTIAL_HARD: a subject that ends inside a possible match
/// gives PCRE2_ERROR_PARTIAL (more bytes may complete it) instead of a shorter match or none.
static inline int CPCRE2_match_partial(const CPCRE2_code *code, const unsigned char *subject, size_t length, size_t start,
                                       CPCRE2_match_data *data, CPCRE2_match_context *context) {
    return pcre2_match_8(code, subject, length, start, PCRE2_PARTIAL_HARD, data, context);
}

/// The number of the named group, or a negative error when the pattern has none of that name.
static inline int CPCRE2_group_number(const CPCRE2_code *code, const char *name) {
    return pcre2_substring_number_from_name_8(code, (PCRE2_SPTR8)name);
}

/// Start and end of group `group` after a match; PCRE2_UNSET (as SIZE_MAX) when it did not take part.
static inline size_t CPCRE2_group_start(CPCRE2_match_data *data, int group) { return pcre2_get_ovector_pointer_8(data)[2 * group]; }
static inline size_t CPCRE2_group_end(CPCRE2_match_data *data, int group) { return pcre2_get_ovector_pointer_8(data)[2 * group + 1]; }

/// True when every match must start at the subject's start (a leading ^ or \A, or PCRE2_ANCHORED).
static inline int CPCRE2_is_anchored(const CPCRE2_code *code) {
    uint32_t options = 0;
    if (pcre2_pattern_info_8(code, PCRE2_INFO_ALLOPTIONS, &options) != 0) return 0;
    return (options & PCRE2_ANCHORED) != 0;
}

/// The fewest bytes a match can have (PCRE2_INFO_MINLENGTH; a lower bound, 0 when a match can be empty).
static inline uint32_t CPCRE2_minimum_length(const CPCRE2_code *code) {
    uint32_t length = 0;
    if (pcre2_pattern_info_8(code, PCRE2_INFO_MINLENGTH, &length) != 0) return 0;
    return length;
}

/// How many characters before a match's start the pattern may look at (lookbehinds, \\b).
static inline uint32_t CPCRE2_max_lookbehind(const CPCRE2_code *code) {
    uint32_t length = 0;
    if (pcre2_pattern_info_8(code, PCRE2_INFO_MAXLOOKBEHIND, &length) != 0) return 0;
    return length;
}

static const int CPCRE2_ERROR_PARTIAL = PCRE2_ERROR_PARTIAL;
static const int CPCRE2_ERROR_JIT_STACKLIMIT = PCRE2_ERROR_JIT_STACKLIMIT;
static const int CPCRE2_ERROR_NOMATCH = PCRE2_ERROR_NOMATCH;
static const int CPCRE2_ERROR_MATCHLIMIT = PCRE2_ERROR_MATCHLIMIT;
static const int CPCRE2_ERROR_DEPTHLIMIT = PCRE2_ERROR_DEPTHLIMIT;
static const int CPCRE2_ERROR_HEAPLIMIT = PCRE2_ERROR_HEAPLIMIT;

#endif
