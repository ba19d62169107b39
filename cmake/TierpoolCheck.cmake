# TierpoolCheck.cmake - run a project's ctest tests under `tierpool check`,
# so that the test that leaks is the one that fails (as with LeakSanitizer).
#
#   find_package(tierpool)   # installed; or CMAKE_MODULE_PATH += <source>/cmake
#   include(TierpoolCheck)
#
#   # Every add_test() whose COMMAND is one of these executable targets runs
#   # under the check (through the target's CROSSCOMPILING_EMULATOR, which
#   # ctest puts in front of the command):
#   tierpool_leak_check_targets(TARGETS unit_tests parser_tests
#                               [OPTIONS --suppressions ${CMAKE_SOURCE_DIR}/leaks.supp ...])
#
#   # One test, any command (a script, an installed program):
#   tierpool_add_leak_test(NAME cli.smoke COMMAND mytool --selftest
#                          [WORKING_DIRECTORY dir] [OPTIONS ...])
#
#   # CMake 3.29 and later: the same prefix for any test, by hand:
#   set_property(TEST t PROPERTY TEST_LAUNCHER ${TIERPOOL_CHECK_LAUNCHER})
#
# OPTIONS are `tierpool check` options (--suppressions FILE, --baseline FILE,
# --fail-on=reachable, --exitcode N, ...). TIERPOOL_CHECK_OPTIONS holds
# options given to every test. A leaking test fails with the check's report
# in its output; a test that fails on its own keeps its own status unless it
# also leaks.
#
# Cache variables:
#   TIERPOOL_EXECUTABLE  the `tierpool` command (find_package(tierpool) sets
#                        it; else found next to this file's install or source
#                        tree, then on the PATH)
#   TIERPOOL_LIBRARY     the libtierpool.so to preload (empty: the one
#                        `tierpool` finds itself)
#
# A target wrapped by tierpool_leak_check_targets() runs under the check
# wherever CMake uses its emulator: tests, and add_custom_command() steps
# that run the target by name. Wrap test programs only.

include_guard(GLOBAL)

find_program(TIERPOOL_EXECUTABLE tierpool
             HINTS "${CMAKE_CURRENT_LIST_DIR}/../../../bin"     # <prefix>/lib/cmake/tierpool
                   "${CMAKE_CURRENT_LIST_DIR}/../../../../bin"  # <prefix>/lib/<multiarch>/cmake/tierpool
                   "${CMAKE_CURRENT_LIST_DIR}/../scripts"       # the source tree
             DOC "the tierpool command (tierpool check runs the tests)")
set(TIERPOOL_LIBRARY "" CACHE FILEPATH "libtierpool.so for tierpool check (empty: its default)")
set(TIERPOOL_CHECK_OPTIONS "" CACHE STRING "tierpool check options given to every test (a list)")

if(NOT TIERPOOL_EXECUTABLE)
  message(FATAL_ERROR "TierpoolCheck: the tierpool command was not found; "
                      "set TIERPOOL_EXECUTABLE to it")
endif()

# The command line in front of a test's command: tierpool check OPTS --
function(_tierpool_check_prefix out)
  set(prefix "${TIERPOOL_EXECUTABLE}" check)
  if(TIERPOOL_LIBRARY)
    list(APPEND prefix --lib "${TIERPOOL_LIBRARY}")
  endif()
  list(APPEND prefix ${TIERPOOL_CHECK_OPTIONS} ${ARGN} --)
  set(${out} "${prefix}" PARENT_SCOPE)
endfunction()

_tierpool_check_prefix(TIERPOOL_CHECK_LAUNCHER)

function(tierpool_leak_check_targets)
  cmake_parse_arguments(PARSE_ARGV 0 TP "" "" "TARGETS;OPTIONS")
  if(TP_UNPARSED_ARGUMENTS OR NOT TP_TARGETS)
    message(FATAL_ERROR "tierpool_leak_check_targets(TARGETS target... [OPTIONS opt...])")
  endif()
  _tierpool_check_prefix(prefix ${TP_OPTIONS})
  foreach(t IN LISTS TP_TARGETS)
    get_target_property(type ${t} TYPE)
    if(NOT type STREQUAL "EXECUTABLE")
      message(FATAL_ERROR "tierpool_leak_check_targets: ${t} is not an executable target")
    endif()
    set_property(TARGET ${t} PROPERTY CROSSCOMPILING_EMULATOR ${prefix})
  endforeach()
endfunction()

function(tierpool_add_leak_test)
  cmake_parse_arguments(PARSE_ARGV 0 TP "" "NAME;WORKING_DIRECTORY" "COMMAND;OPTIONS")
  if(TP_UNPARSED_ARGUMENTS OR NOT TP_NAME OR NOT TP_COMMAND)
    message(FATAL_ERROR "tierpool_add_leak_test(NAME name COMMAND cmd [args...] "
                        "[WORKING_DIRECTORY dir] [OPTIONS opt...])")
  endif()
  _tierpool_check_prefix(prefix ${TP_OPTIONS})
  # add_test() turns a target name into its file only in first place.
  list(GET TP_COMMAND 0 exe)
  if(TARGET ${exe})
    list(REMOVE_AT TP_COMMAND 0)
    list(PREPEND TP_COMMAND "$<TARGET_FILE:${exe}>")
  endif()
  set(wd)
  if(TP_WORKING_DIRECTORY)
    set(wd WORKING_DIRECTORY "${TP_WORKING_DIRECTORY}")
  endif()
  add_test(NAME ${TP_NAME} COMMAND ${prefix} ${TP_COMMAND} ${wd})
endfunction()
