"""The lab's ML2 mechanism driver: binds every port, no agent, no datapath.

Lab scaffolding only (molecule default's prepare), never shipped by the
heat role: the lab container's kernel has no openvswitch or dummy module and
Neutron 26 has no linuxbridge driver, yet Nova's fake driver needs bound ports.
"""
from neutron_lib.api.definitions import portbindings
from neutron_lib import constants
from neutron_lib.plugins.ml2 import api


class BindAllDriver(api.MechanismDriver):
    def initialize(self):
        pass

    def bind_port(self, context):
        for segment in context.segments_to_bind:
            context.set_binding(segment[api.ID], portbindings.VIF_TYPE_OVS,
                                {portbindings.CAP_PORT_FILTER: False},
                                status=constants.PORT_STATUS_ACTIVE)
            return
