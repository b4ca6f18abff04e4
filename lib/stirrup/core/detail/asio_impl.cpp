// The one translation unit that compiles Asio and asio::ssl (BOOST_ASIO_SEPARATE_COMPILATION
// is set for the whole library and its users).
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
