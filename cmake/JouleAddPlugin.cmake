# joule_add_plugin(NAME SOURCES file... MANIFEST file.json [LIBS target...])
#
# Builds the Joule optimization plugin NAME as a Qt plugin module linked to Joule::core, into
# ${JOULE_PLUGIN_OUTPUT_DIR} (default: <build dir>/plugins, a folder to put on $JOULE_PLUGIN_PATH), and
# installs it into ${JOULE_PLUGIN_INSTALL_DIR} (default: lib/joule/plugins under the install prefix,
# beside the built-in plugins when the prefix is Joule's own). The manifest is checked when CMake
# configures: it must be a JSON object whose "name" is NAME and whose "parameters" is an array, the
# same rules the plugin manager applies when it lists the plugin. The source that declares
# Q_PLUGIN_METADATA(IID JOULE_PLUGIN_IID FILE "<manifest>") names the same file.
#
# The same function builds the built-in plugins in Joule's own tree and third-party plugins against
# the installed SDK (find_package(Joule)); see docs/plugins.md.
function(joule_add_plugin name)
  cmake_parse_arguments(P "" "MANIFEST" "SOURCES;LIBS" ${ARGN})
  if(P_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "joule_add_plugin(${name}): unknown arguments: ${P_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT P_SOURCES)
    message(FATAL_ERROR "joule_add_plugin(${name}): SOURCES is required")
  endif()
  if(NOT P_MANIFEST)
    message(FATAL_ERROR "joule_add_plugin(${name}): MANIFEST is required (the plugin's JSON manifest)")
  endif()
  get_filename_component(manifest "${P_MANIFEST}" ABSOLUTE)
  if(NOT EXISTS "${manifest}")
    message(FATAL_ERROR "joule_add_plugin(${name}): MANIFEST ${manifest} does not exist")
  endif()
  file(READ "${manifest}" json)
  string(JSON kind ERROR_VARIABLE error TYPE "${json}")
  if(error OR NOT kind STREQUAL "OBJECT")
    message(FATAL_ERROR "${manifest}: not one JSON object ${error}")
  endif()
  string(JSON declared ERROR_VARIABLE error GET "${json}" name)
  if(error)
    message(FATAL_ERROR "${manifest}: field 'name' is missing")
  endif()
  if(NOT declared STREQUAL name)
    message(FATAL_ERROR "${manifest}: field 'name' is '${declared}', but joule_add_plugin names the plugin '${name}'")
  endif()
  string(JSON kind ERROR_VARIABLE error TYPE "${json}" parameters)
  if(error OR NOT kind STREQUAL "ARRAY")
    message(FATAL_ERROR "${manifest}: field 'parameters' is missing (an array, possibly empty)")
  endif()

  if(NOT DEFINED JOULE_PLUGIN_OUTPUT_DIR)
    set(JOULE_PLUGIN_OUTPUT_DIR "${CMAKE_BINARY_DIR}/plugins")
  endif()
  if(NOT DEFINED JOULE_PLUGIN_INSTALL_DIR)
    set(JOULE_PLUGIN_INSTALL_DIR "lib/joule/plugins")
  endif()

  add_library(${name} MODULE ${P_SOURCES} "${manifest}")
  target_link_libraries(${name} PRIVATE Joule::core ${P_LIBS})
  set_target_properties(${name} PROPERTIES
    AUTOMOC ON
    LIBRARY_OUTPUT_DIRECTORY "${JOULE_PLUGIN_OUTPUT_DIR}"
    # Installed beside Joule's plugins (lib/joule/plugins), libjoule-core is one folder up; elsewhere,
    # where the SDK has it.
    INSTALL_RPATH "$ORIGIN/..")
  if(JOULE_LIBRARY_DIR)
    set_property(TARGET ${name} APPEND PROPERTY INSTALL_RPATH "${JOULE_LIBRARY_DIR}")
  endif()
  install(TARGETS ${name} LIBRARY DESTINATION "${JOULE_PLUGIN_INSTALL_DIR}")
endfunction()
