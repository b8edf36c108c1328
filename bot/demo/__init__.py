"""The offline demo (`make demo`): the real bot against local fakes of VRChat and Discord."""
