// The one translation unit that compiles Beast (BOOST_BEAST_SEPARATE_COMPILATION
// is set for the whole library and its users).
#include <boost/beast/src.hpp>
