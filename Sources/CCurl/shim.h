// libcurl for proxym's HTTP client. Swift cannot call C variadic functions (curl_easy_setopt,
// curl_multi_setopt), so this header adds one typed static inline wrapper per argument type.
// No logic here. Every symbol is prefixed proxym_.
#ifndef PROXYM_CCURL_SHIM_H
#define PROXYM_CCURL_SHIM_H

#include <curl/curl.h>

#endif
