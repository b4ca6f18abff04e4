// The one translation unit that compiles Asio (BOOST_ASIO_SEPARATE_COMPILATION
// is set for the whole library and its users).
#include <boost/asio/impl/src.hpp>
