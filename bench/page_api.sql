SELECT ai.learnings_list();
