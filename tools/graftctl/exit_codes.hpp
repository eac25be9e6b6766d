// graftctl's exit codes (docs/operator-guide.md lists them for scripts).
#pragma once

namespace graftctl {

inline constexpr int kExitOk = 0;
inline constexpr int kExitRefused = 1;   // a check failed or the host refused the request
inline constexpr int kExitUsage = 2;     // wrong flags or arguments
inline constexpr int kExitNotFound = 3;  // no such host, component, bundle or file
inline constexpr int kExitNoAnswer = 4;  // the host did not answer (dead, hung, timed out)
inline constexpr int kExitError = 5;     // anything else (I/O error, internal error)

}  // namespace graftctl
