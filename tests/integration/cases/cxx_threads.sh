# A threaded C++ program of our own (cxx_threads.cpp): four threads
# building std::map, std::vector, std::string and std::unordered_map, and
# handing strings to each other to be freed there.
case_needs() { echo "$TP_CXX_THREADS"; }
case_run() { tp_run "$TP_CXX_THREADS" 4; }
