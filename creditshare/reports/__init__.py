"""What lenders read: the subject report and the HTML report over the whole chain."""
