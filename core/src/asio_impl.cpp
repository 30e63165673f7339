// Boost.Asio (with its SSL support) and Boost.Beast compiled once for the whole program, instead
// of in every translation unit that includes them (BOOST_*_SEPARATE_COMPILATION).
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>
