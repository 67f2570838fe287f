// libcurl for proxym's HTTP client. Swift cannot call C variadic functions (curl_easy_setopt,
// curl_multi_setopt, curl_easy_getinfo), so this header adds one typed static inline wrapper per
// argument type. No logic here. Every symbol is prefixed proxym_.
#ifndef PROXYM_CCURL_SHIM_H
#define PROXYM_CCURL_SHIM_H

// curl.h includes <sys/socket.h>, <stdio.h>, ... Included textually here, their declarations
// (SOCK_STREAM, ...) would belong to this module as well as to Swift's Glibc module, and in a
// whole-module (release) build Swift may attribute them to CCurl, hiding them from ProxymPosix
// files that import only Glibc/CSystemd (checked: Socket.swift stopped compiling). Importing
// Glibc's clang module first makes curl.h's libc includes no-ops (their guards are already set),
// so every libc declaration keeps one owner.
#pragma clang module import SwiftGlibc
#include <curl/curl.h>

// MARK: curl_easy_setopt, one wrapper per argument type

static inline CURLcode proxym_curl_easy_setopt_long(CURL *easy, CURLoption option, long value) {
    return curl_easy_setopt(easy, option, value);
}
static inline CURLcode proxym_curl_easy_setopt_off_t(CURL *easy, CURLoption option, curl_off_t value) {
    return curl_easy_setopt(easy, option, value);
}
// curl copies string arguments (except CURLOPT_POSTFIELDS, which proxym never uses).
static inline CURLcode proxym_curl_easy_setopt_string(CURL *easy, CURLoption option, const char *value) {
    return curl_easy_setopt(easy, option, value);
}
static inline CURLcode proxym_curl_easy_setopt_pointer(CURL *easy, CURLoption option, void *value) {
    return curl_easy_setopt(easy, option, value);
}
static inline CURLcode proxym_curl_easy_setopt_slist(CURL *easy, CURLoption option, struct curl_slist *value) {
    return curl_easy_setopt(easy, option, value);
}
// CURLOPT_WRITEFUNCTION and CURLOPT_HEADERFUNCTION share this type.
static inline CURLcode proxym_curl_easy_setopt_write_function(
    CURL *easy, CURLoption option, curl_write_callback value) {
    return curl_easy_setopt(easy, option, value);
}
// CURLOPT_OPENSOCKETFUNCTION.
static inline CURLcode proxym_curl_easy_setopt_opensocket_function(
    CURL *easy, CURLoption option, curl_opensocket_callback value) {
    return curl_easy_setopt(easy, option, value);
}
// CURLOPT_CLOSESOCKETFUNCTION.
static inline CURLcode proxym_curl_easy_setopt_closesocket_function(
    CURL *easy, CURLoption option, curl_closesocket_callback value) {
    return curl_easy_setopt(easy, option, value);
}

// MARK: curl_multi_setopt

static inline CURLMcode proxym_curl_multi_setopt_long(CURLM *multi, CURLMoption option, long value) {
    return curl_multi_setopt(multi, option, value);
}
static inline CURLMcode proxym_curl_multi_setopt_pointer(CURLM *multi, CURLMoption option, void *value) {
    return curl_multi_setopt(multi, option, value);
}
// CURLMOPT_SOCKETFUNCTION.
static inline CURLMcode proxym_curl_multi_setopt_socket_function(
    CURLM *multi, CURLMoption option, curl_socket_callback value) {
    return curl_multi_setopt(multi, option, value);
}
// CURLMOPT_TIMERFUNCTION.
static inline CURLMcode proxym_curl_multi_setopt_timer_function(
    CURLM *multi, CURLMoption option, curl_multi_timer_callback value) {
    return curl_multi_setopt(multi, option, value);
}

// MARK: curl_easy_getinfo, one wrapper per result type

static inline CURLcode proxym_curl_easy_getinfo_long(CURL *easy, CURLINFO info, long *value) {
    return curl_easy_getinfo(easy, info, value);
}
static inline CURLcode proxym_curl_easy_getinfo_off_t(CURL *easy, CURLINFO info, curl_off_t *value) {
    return curl_easy_getinfo(easy, info, value);
}
// The string belongs to the easy handle and lives until the next transfer or cleanup.
static inline CURLcode proxym_curl_easy_getinfo_string(CURL *easy, CURLINFO info, const char **value) {
    char *result = NULL;
    CURLcode code = curl_easy_getinfo(easy, info, &result);
    *value = result;
    return code;
}

// MARK: macros Swift cannot import (casts, shifts, enum aliases)

static inline curl_version_info_data *proxym_curl_version_info(void) { return curl_version_info(CURLVERSION_NOW); }

static inline long proxym_curlauth_basic(void) { return (long)CURLAUTH_BASIC; }
static inline long proxym_curl_global_default(void) { return CURL_GLOBAL_DEFAULT; }
static inline curl_socket_t proxym_curl_socket_timeout(void) { return CURL_SOCKET_TIMEOUT; }
static inline curl_socket_t proxym_curl_socket_bad(void) { return CURL_SOCKET_BAD; }
// CURLMsg keeps the result in a union.
static inline CURLcode proxym_curl_msg_result(const CURLMsg *message) { return message->data.result; }

_Static_assert(sizeof(long) == 8, "proxym passes Swift Int as long (LP64)");
_Static_assert(sizeof(curl_off_t) == 8, "curl_off_t is 64-bit");
_Static_assert(sizeof(curl_socket_t) == sizeof(int), "curl_socket_t is an int fd");

#endif
