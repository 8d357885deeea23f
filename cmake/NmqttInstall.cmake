# Install rules: headers, libnmqtt + libnmqtt_store + libnmqtt_core, the CMake package (find_package(nmqtt) ->
# nmqtt::nmqtt, nmqtt::store, nmqtt::core) and the pkg-config file nmqtt.pc. Included from src/net/CMakeLists.txt
# once `nmqtt` exists. libnmqtt links libnmqtt_store (the persistent session store of ClientOptions).
include(CMakePackageConfigHelpers)

set(NMQTT_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/nmqtt)

install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/nmqtt DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        FILES_MATCHING PATTERN "*.hpp")
install(TARGETS nmqtt nmqtt_store nmqtt_core EXPORT nmqttTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT nmqttTargets NAMESPACE nmqtt:: DESTINATION ${NMQTT_CMAKE_DIR})

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/nmqttConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/nmqttConfig.cmake INSTALL_DESTINATION ${NMQTT_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/nmqttConfigVersion.cmake
                                 VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/nmqttConfig.cmake ${PROJECT_BINARY_DIR}/nmqttConfigVersion.cmake
        DESTINATION ${NMQTT_CMAKE_DIR})

# pkg-config: relocatable (prefix found from the .pc file's own place), so `cmake --install --prefix X` works.
file(RELATIVE_PATH NMQTT_PC_TO_PREFIX "/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/")
string(REGEX REPLACE "/$" "" NMQTT_PC_TO_PREFIX "${NMQTT_PC_TO_PREFIX}")
get_target_property(NMQTT_LIBRARY_TYPE nmqtt TYPE)
if(NMQTT_LIBRARY_TYPE STREQUAL "STATIC_LIBRARY")
  # A static libnmqtt needs OpenSSL and threads at the consumer's link, with or without --static.
  set(NMQTT_PC_REQUIRES "libssl libcrypto")
  set(NMQTT_PC_REQUIRES_PRIVATE "")
  set(NMQTT_PC_LIBS "-lnmqtt -lnmqtt_store -lnmqtt_core -pthread")
else()
  set(NMQTT_PC_REQUIRES "")
  set(NMQTT_PC_REQUIRES_PRIVATE "libssl libcrypto")
  set(NMQTT_PC_LIBS "-lnmqtt -lnmqtt_store -lnmqtt_core")
endif()
configure_file(${PROJECT_SOURCE_DIR}/cmake/nmqtt.pc.in ${PROJECT_BINARY_DIR}/nmqtt.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/nmqtt.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
